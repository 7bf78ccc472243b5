"""A worker's security: TLS, who may call it, and who is calling.

``Security`` holds the settings (``serve --tls-cert/--tls-key/--tls-client-ca/--token-file``)
and checks every RPC: with bearer tokens configured, the ``authorization`` metadata must be
``Bearer <token>`` with one of them, or the RPC ends with UNAUTHENTICATED before it runs;
with a client CA, the TLS handshake itself refuses a client without a certificate from it.
``grpc.health.v1.Health`` is exempt from the token (container health checks carry none).

An authenticated RPC runs with ``CALLER`` set to its ``Identity`` (the client certificate's
subject and/or a digest of the token); the runtime binds each context to the identity
that created it. Without authentication ``CALLER`` stays None and nothing is bound.

>>> security = Security(Path("cert.pem"), Path("key.pem"),  # doctest: +SKIP
...                     tokens=read_tokens(Path("tokens.txt")))
>>> EagerServer(port=50051, security=security)              # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import ssl
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import grpclib.server
from grpclib.const import Status
from grpclib.events import RecvRequest, listen
from grpclib.exceptions import GRPCError

__all__ = ["CALLER", "HEALTH_SERVICE", "Identity", "Security", "read_tokens"]

logger = logging.getLogger(__name__)

HEALTH_SERVICE = "/grpc.health.v1.Health/"
"""The method prefix that needs no token: health checks (a client CA still applies, since
it is checked in the TLS handshake, before any method is known)."""

Subject = tuple[tuple[tuple[str, str], ...], ...]  # ssl's getpeercert()["subject"]


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling, as authentication established it: the subject of the client's
    certificate (mutual TLS) and/or the digest of the bearer token it sent. Two callers
    are the same identity when both parts are equal; different tokens are different
    identities. ``str()`` names it for logs without revealing the token.

    >>> str(Identity(token="9f86d081884c7d65"))
    'token sha256:9f86d081884c7d65'
    """

    subject: Subject | None = None
    token: str | None = None  # the first 16 hex digits of the token's SHA-256

    def __str__(self) -> str:
        parts = []
        if self.subject is not None:
            names = ",".join(f"{key}={value}" for rdn in self.subject for key, value in rdn)
            parts.append(f"certificate {names}")
        if self.token is not None:
            parts.append(f"token sha256:{self.token}")
        return " + ".join(parts)


CALLER: ContextVar[Identity | None] = ContextVar("eager_async_caller", default=None)
"""The identity of the RPC being served (None when the worker authenticates nobody). Set
by ``Security``'s check in the task that then runs the RPC, so the runtime reads it."""


def read_tokens(path: Path) -> frozenset[str]:
    """The bearer tokens of a token file: one per non-empty line, whitespace stripped.
    ValueError (never echoing a token) for a file with none or with an unusable one;
    OSError when it cannot be read.

    >>> read_tokens(Path("tokens.txt"))   # doctest: +SKIP
    frozenset({'3f5c...'})
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a text file of tokens (not UTF-8)") from None
    tokens = set()
    for number, line in enumerate(text.splitlines(), 1):
        token = line.strip()
        if not token:
            continue
        if not all("!" <= char <= "~" for char in token):
            raise ValueError(
                f"{path}, line {number}: a token must be printable ASCII without spaces "
                "(it travels in an HTTP header); e.g. `openssl rand -hex 32`"
            )
        tokens.add(token)
    if not tokens:
        raise ValueError(f"{path} holds no token: write one token per line")
    return frozenset(tokens)


def _digest(token: bytes) -> bytes:
    return hashlib.sha256(token).digest()


@dataclass(frozen=True, slots=True)
class Security:
    """A worker's TLS and authentication settings; every field is optional, and none at
    all is plaintext with no authentication (for loopback and trusted networks).

    - ``tls_cert``, ``tls_key``: the server's certificate chain and key (PEM), both or
      neither; with them the worker speaks TLS (1.2 or later) only.
    - ``tls_client_ca``: mutual TLS: clients must present a certificate this CA (PEM)
      issued, checked in the handshake; needs ``tls_cert``/``tls_key``.
    - ``tokens``: bearer tokens, one of which every RPC but health checks must send as
      ``authorization: Bearer <token>`` (never shown by ``repr``).

    >>> Security(tokens=frozenset({"s3cret"}))
    Security(tls_cert=None, tls_key=None, tls_client_ca=None)
    """

    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    tokens: frozenset[str] = field(default=frozenset(), repr=False)
    _digests: tuple[bytes, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Compared as SHA-256 digests: equal lengths, so the comparison's time tells nothing.
        object.__setattr__(self, "_digests", tuple(_digest(t.encode()) for t in self.tokens))
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("TLS needs both a certificate and its key (--tls-cert, --tls-key)")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise ValueError(
                "mutual TLS (--tls-client-ca) needs the server's own certificate and key "
                "(--tls-cert, --tls-key)"
            )

    @property
    def authenticates(self) -> bool:
        """Whether callers are identified (client certificates or tokens)."""
        return self.tls_client_ca is not None or bool(self.tokens)

    def __str__(self) -> str:
        if self.tls_cert is None:
            transport = "plaintext (no TLS)"
        elif self.tls_client_ca is None:
            transport = "TLS"
        else:
            transport = "mutual TLS (client certificates required)"
        tokens = f", {len(self.tokens)} bearer token(s)" if self.tokens else ""
        return transport + tokens

    def server_ssl_context(self) -> ssl.SSLContext | None:
        """The TLS settings of the listening socket (None without TLS): TLS 1.2 or later,
        the ciphers HTTP/2 allows, ALPN ``h2`` as grpclib needs, and, with a client CA,
        client certificates required and verified. OSError when a file cannot be read,
        ValueError naming it when it holds no usable certificate or key."""
        cert, key, client_ca = self.tls_cert, self.tls_key, self.tls_client_ca
        if cert is None or key is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        # What grpclib's own client sets: HTTP/2 (RFC 7540, 9.2.2) bans the other ciphers.
        context.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20")
        context.set_alpn_protocols(["h2"])

        def encrypted() -> str:  # else OpenSSL would ask for a passphrase on the terminal
            raise ValueError(f"{key} is encrypted: give the worker an unencrypted key")

        try:
            context.load_cert_chain(cert, key, password=encrypted)
        except ssl.SSLError as error:
            raise ValueError(
                f"{cert} and {key} are not a PEM certificate chain and its private key "
                f"({error.reason or error})"
            ) from error
        if client_ca is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            try:
                context.load_verify_locations(cafile=client_ca)
            except ssl.SSLError as error:
                raise ValueError(
                    f"{client_ca} holds no PEM CA certificate ({error.reason or error})"
                ) from error
        return context

    def install(self, server: grpclib.server.Server) -> None:
        """Check every RPC ``server`` receives (a ``RecvRequest`` listener: it runs in the
        RPC's own task, before the method, and a GRPCError it raises is the RPC's status)."""
        if self.authenticates:
            listen(server, RecvRequest, self._authenticate)

    async def _authenticate(self, event: RecvRequest) -> None:
        if event.method_name.startswith(HEALTH_SERVICE):
            return
        subject: Subject | None = None
        if self.tls_client_ca is not None:
            # The handshake has verified it (CERT_REQUIRED): no certificate, no connection.
            certificate = event.peer.cert()
            subject = certificate.get("subject") if certificate else None
            if subject is None:
                raise self._refuse(event, "the TLS connection carries no client certificate")
        token = self._check_token(event) if self.tokens else None
        CALLER.set(Identity(subject=subject, token=token))

    def _check_token(self, event: RecvRequest) -> str:
        """The digest of the caller's token (hex, shortened), or UNAUTHENTICATED."""
        values = event.metadata.getall("authorization", [])
        if not values:
            raise self._refuse(
                event, "this worker requires a bearer token: send the metadata "
                "'authorization: Bearer <token>' with a token of the worker's --token-file",
            )  # fmt: skip
        if len(values) > 1:
            raise self._refuse(event, "send one 'authorization' metadata entry, not several")
        value = values[0] if isinstance(values[0], str) else ""  # bytes: a -bin key only
        scheme, _, credentials = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise self._refuse(event, "the 'authorization' metadata must be 'Bearer <token>'")
        presented = _digest(credentials.strip().encode("utf-8", "replace"))
        matched = False
        for digest in self._digests:  # every one compared, in constant time: no early exit
            matched |= hmac.compare_digest(presented, digest)
        if not matched:
            raise self._refuse(
                event, "the bearer token is not one this worker accepts: check it against "
                "the worker's --token-file",
            )  # fmt: skip
        return presented.hex()[:16]

    @staticmethod
    def _refuse(event: RecvRequest, reason: str) -> GRPCError:
        address = event.peer.addr()
        logger.info(
            "refused %s from %s: %s",
            event.method_name,
            f"{address[0]}:{address[1]}" if address else "?",
            reason,
        )
        return GRPCError(Status.UNAUTHENTICATED, f"{event.method_name}: {reason}")

