# syntax=docker/dockerfile:1
# The production image: gunicorn with uvicorn workers, as an unprivileged user.
#   docker build -t perf-service .
#   docker run perf-service python -m service migrate   # once per release, before the API
#   docker run -p 8000:8000 perf-service                 # the API (WEB_CONCURRENCY workers)
#   docker run perf-service python -m service worker    # webhook delivery
ARG PYTHON_IMAGE=python:3.11-slim

# --- build: a virtual environment with the runtime lock only (no test tools) ----------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /venv
COPY requirements.lock /tmp/requirements.lock
RUN /venv/bin/pip install --no-deps --require-hashes -r /tmp/requirements.lock
WORKDIR /app
COPY alembic.ini ./
COPY migrations ./migrations
COPY service ./service
RUN /venv/bin/python -m compileall -q /app/service /app/migrations

# --- runtime: the interpreter, the environment and the code, nothing else --------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin app
COPY --from=build /venv /venv
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/tmp/perf-service \
    PORT=8000 \
    WEB_CONCURRENCY=2
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2).status == 200 else 1)"]
CMD ["gunicorn", "-c", "python:service.web.gunicorn_conf", "service.web.app:create_app()"]
