# One image for every Jalin process: the three APIs (gunicorn) and every worker run from it by
# their command, e.g.
#   docker run jalin:local gunicorn -c deploy/gunicorn.conf.py 'services.partners.app:create_app()'
#   docker run jalin:local python -m services.evaluation.workers projector
#   docker run jalin:local python -m cli.init
# See deploy/README.md. Checked offline by tests/deploy/test_dockerfile.py (hadolint + own rules).

# ---------------------------------------------------------------- build: wheels, then a venv
# The base is pinned by exact tag in both stages (same Python, so the venv can be copied).
FROM python:3.11.15-slim-bookworm AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# Only what the build needs: the pins and the project metadata + packages.
COPY pyproject.toml requirements.lock README.md ./
COPY shared ./shared
COPY services ./services
COPY cli ./cli

# Wheels of the project's runtime dependencies, pinned by requirements.lock (test extras are not
# installed). Everything is built here, so the runtime stage needs no compiler or build tool.
RUN pip wheel --wheel-dir /wheels -c requirements.lock . \
 && rm -f /wheels/jalin-*.whl \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-index --find-links /wheels /wheels/*.whl \
 && /opt/venv/bin/pip uninstall -y pip setuptools wheel

# ---------------------------------------------------------------- runtime
FROM python:3.11.15-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="jalin" \
      org.opencontainers.image.description="Jalin: event-sourced management of regional-government cooperation" \
      org.opencontainers.image.source="https://example.invalid/jalin"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PATH=/opt/venv/bin:$PATH \
    JALIN_BIND=0.0.0.0:8000

# An unprivileged user with a fixed numeric id (Kubernetes' runAsNonRoot can verify a number).
RUN groupadd --system --gid 10001 jalin \
 && useradd --system --uid 10001 --gid jalin --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin jalin

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The code is owned by root and read-only for the app user; nothing in /app is written at run time
# (PYTHONDONTWRITEBYTECODE), so the root filesystem can be mounted read-only. Only /tmp is written.
COPY shared ./shared
COPY services ./services
COPY cli ./cli
COPY deploy/gunicorn.conf.py ./deploy/gunicorn.conf.py

USER 10001:10001
EXPOSE 8000

# No ENTRYPOINT: the command names the process (compose `command:`, Kubernetes `args:`).
# No HEALTHCHECK: one image serves several processes on different ports; compose and Kubernetes
# declare a probe per process (/readyz for APIs, the worker's /healthz on JALIN_METRICS_PORT).
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "services.evaluation.app:create_app()"]
