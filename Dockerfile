# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /app
RUN python -m venv /venv
COPY requirements.lock pyproject.toml ./
RUN /venv/bin/pip install --no-cache-dir -r requirements.lock
COPY service ./service
COPY migrations ./migrations
COPY alembic.ini README.md ./
RUN /venv/bin/pip install --no-cache-dir --no-deps .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 app
WORKDIR /app
COPY --from=build /venv /venv
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/alembic.ini ./
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 DATA_DIR=/app/data
USER app
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"
CMD ["perf-service", "serve", "--host", "0.0.0.0", "--port", "8000"]
