# syntax=docker/dockerfile:1
# One image for every Tradewind process: `tradewind service NAME` (deadletters,
# portfolio, execution, risk, marketdata, strategy, gateway), `tradewind venue serve`,
# `tradewind db upgrade`, `tradewind keys generate`. Pick one with the command:
#
#   docker build -t tradewind:local .
#   docker run --read-only --tmpfs /tmp tradewind:local service risk
#
# Read-only root filesystem: the services in distributed mode (PostgreSQL, Redis or
# Kafka) write no file. Give them a tmpfs at /tmp (scratch space for Python and its
# libraries). Only the embedded mode (`tradewind up`, SQLite) writes more: mount a
# volume at /var/lib/tradewind, the working directory, for its database and logs.
#
# There is no web-asset build stage: Tradewind has no dashboard yet, only the JSON API
# (and its Swagger UI, shipped inside a Python package). Add a node stage here when one
# exists.

ARG PYTHON_IMAGE=python:3.11-slim

# -- builder: the wheel, and a virtual environment holding it and its pinned deps ------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --quiet "pip==26.3"

# The dependencies first, from pyproject.toml alone, so that a change to the code does
# not reinstall them (every one is pinned to an exact version there).
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && /opt/venv/bin/pip install --quiet -r requirements.txt

COPY README.md ./
COPY tradewind ./tradewind
# pip compiles the .pyc files here: the runtime's read-only filesystem could not.
RUN /opt/venv/bin/pip wheel --quiet --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --quiet --no-deps /wheels/tradewind-*.whl \
    && /opt/venv/bin/tradewind version

# -- runtime: the slim base, the virtual environment, a user without privileges --------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="tradewind" \
      org.opencontainers.image.description="Tradewind: every service, the simulated exchange and the migrations" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --system --gid 10001 tradewind \
    && useradd --system --uid 10001 --gid tradewind --home-dir /var/lib/tradewind \
        --no-create-home --shell /usr/sbin/nologin tradewind \
    && install -d -o tradewind -g tradewind -m 0700 /var/lib/tradewind

COPY --from=builder /opt/venv /opt/venv

# Listen beyond the container's loopback (the defaults are 127.0.0.1, right on a host,
# useless in a container); logs as JSON lines for the log collector.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/tradewind \
    TRADEWIND_LOG_FORMAT=json \
    TRADEWIND_HEALTH_HOST=0.0.0.0 \
    TRADEWIND_HEALTH_PORT=9100 \
    TRADEWIND_HTTP_HOST=0.0.0.0 \
    TRADEWIND_HTTP_PORT=8000

WORKDIR /var/lib/tradewind
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001

# 8000: the gateway's API; 9100: /healthz, /readyz, /metrics of every service;
# 8765: `tradewind venue serve --host 0.0.0.0`.
EXPOSE 8000 9100 8765

# Liveness of `tradewind service NAME` on its health port. Other commands (venue serve,
# db upgrade) have no health port: their compose services override or disable this.
# With TRADEWIND_TLS_CERT_FILE set the health port speaks HTTPS: override it then.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('TRADEWIND_HEALTH_PORT', '9100'), timeout=4)"

# SIGTERM (docker stop) drains the work in flight, then exits 0; allow
# TRADEWIND_SHUTDOWN_TIMEOUT_S (30 s) plus a margin as the stop grace period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["tradewind"]
CMD ["service", "gateway"]
