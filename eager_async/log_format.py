"""How a worker's log lines look: ``text`` for people, ``json`` for log collectors.

``json`` writes one object per line: ``time`` (ISO 8601, UTC, milliseconds), ``level``,
``logger``, ``message``, then every field a call passed as ``extra=`` (the access log's
``method``, ``status``, ...), and ``exception`` with the traceback when there is one.

The HTTP/2 layers (loggers ``grpclib``, ``h2``, ``hpack``) stay at WARNING whatever the
level, unless ``http2`` asks for them: at DEBUG they log every frame.

>>> configure_logging("debug", "json")   # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
from typing import Any

__all__ = ["HTTP2_LOGGERS", "LOG_FORMATS", "JsonFormatter", "configure_logging"]

LOG_FORMATS = ("text", "json")
"""The formats ``configure_logging`` takes."""

HTTP2_LOGGERS = ("grpclib", "h2", "hpack")
"""The loggers of the HTTP/2 layers, quiet below WARNING unless asked for."""

_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The attributes every LogRecord has; any other was passed as ``extra=``.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}  # fmt: skip


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (see the module docstring).

    >>> handler.setFormatter(JsonFormatter())   # doctest: +SKIP
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON object on one line."""
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in record.__dict__.items():
            if name not in _STANDARD and name not in line:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # default=str: a field no JSON type fits (a Path, an enum) is written as its text.
        return json.dumps(line, default=str, ensure_ascii=False)


def configure_logging(level: str, log_format: str = "text", *, http2: bool = False) -> None:
    """Send every log record at ``level`` or above to stderr in ``log_format`` (one
    of ``LOG_FORMATS``); the HTTP/2 loggers too only when ``http2`` is true. ValueError
    names a level or format that is not one."""
    number = logging.getLevelName(level.upper())
    if not isinstance(number, int):
        raise ValueError(f"--log-level {level}: not a logging level (DEBUG, INFO, WARNING, ...)")
    if log_format not in LOG_FORMATS:
        raise ValueError(f"--log-format {log_format}: not one of {', '.join(LOG_FORMATS)}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(_TEXT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(number)
    for name in HTTP2_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if http2 else max(number, logging.WARNING))
