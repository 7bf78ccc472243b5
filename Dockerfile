# syntax=docker/dockerfile:1
# An eager_async worker (docs/operations-lifecycle.md: Container).
#
#   docker build -t eager-async .                  # or: make docker
#   docker run --rm -p 50051:50051 eager-async     # serve on the container's port 50051
#   docker run --rm eager-async serve --help       # every option; EAGER_ASYNC_<OPTION> too
#
# SIGTERM (docker stop, Kubernetes) shuts the worker down gracefully; running kernels
# get up to 10 s, so give docker stop more than its default 10 s (`docker stop -t 20`,
# `--stop-timeout 20`). The HEALTHCHECK asks the worker's grpc.health.v1.Health.

ARG PYTHON_VERSION=3.11

# Wheels for the package and its dependencies, the hot path compiled by mypyc (which
# needs a C compiler, kept out of the final image).
FROM python:${PYTHON_VERSION}-slim AS build
RUN apt-get update \
    && apt-get install --yes --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md LICENSE MANIFEST.in ./
COPY eager_async ./eager_async
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[fast]"

FROM python:${PYTHON_VERSION}-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels "eager_async[fast]"
# Not root: a worker runs whatever ops its clients send.
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin eager
USER 10001:10001
WORKDIR /tmp
# Every `serve` option also comes from the environment; inside a container the worker
# must listen on every interface for a published port to reach it.
ENV EAGER_ASYNC_HOST=0.0.0.0 \
    EAGER_ASYNC_PORT=50051
EXPOSE 50051
# `health` exits 0 when SERVING and 1 otherwise (never 2, which Docker reserves).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD python -m eager_async health "127.0.0.1:${EAGER_ASYNC_PORT}" --timeout 4
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "eager_async"]
CMD ["serve"]
