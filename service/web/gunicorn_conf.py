"""gunicorn settings for the production image: `gunicorn -c python:service.web.gunicorn_conf
'service.web.app:create_app()'`.

uvicorn workers (`service.web.http_protocol.Worker`: uvicorn's, with request heads bounded by
`MAX_HEADER_BYTES`), as many as `WEB_CONCURRENCY`, each with its
own event loop and connection pool; the app is created in each worker after the fork, so
no connection or thread crosses a fork. Migrations are not run here: that is
`python -m service migrate`, once per release (the Kubernetes Job, compose's `migrate`).

Prometheus metrics of all workers are aggregated through `PROMETHEUS_MULTIPROC_DIR`: it
is set here before any worker imports the app, emptied when gunicorn starts, and a dead
worker's live gauges are dropped. With `METRICS_PORT` set, the master process serves
`/metrics` on that port (`when_ready`) and the workers' app does not: one listener per pod
whatever `WEB_CONCURRENCY` is, alive as long as the pod's gunicorn, and answering even
while every worker is busy. It reads the samples the workers wrote, and the outbox lag on
a connection of its own per scrape.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import structlog

from service.config import get_settings

_settings = get_settings()

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/perf-service-metrics")

wsgi_app = "service.web.app:create_app()"
worker_class = "service.web.http_protocol.Worker"  # uvicorn's, with a bound on request heads
workers = max(_settings.web_concurrency, 1)
bind = [f"0.0.0.0:{_settings.port}"]
timeout = _settings.gunicorn_timeout_seconds
graceful_timeout = 30  # SIGTERM: requests in flight finish (the pod's grace period is longer)
keepalive = 75  # longer than a typical load balancer's idle timeout (60 s)
max_requests = 10000  # recycle workers now and then (memory), with jitter so not all at once
max_requests_jitter = 1000
forwarded_allow_ips = _settings.forwarded_allow_ips
control_socket_disable = True  # read-only root file system; Kubernetes manages the processes
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = None  # the app logs each request itself, as JSON without raw paths
errorlog = "-"
loglevel = _settings.log_level.lower()
logconfig_dict = {  # gunicorn's own lines as JSON, like the app's
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": structlog.stdlib.ProcessorFormatter,
            "foreign_pre_chain": [
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
            "processors": [
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(),
            ],
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "loggers": {"gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False}},
}


def on_starting(server) -> None:  # noqa: ANN001 - gunicorn's hook signature
    path = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


def child_exit(server, worker) -> None:  # noqa: ANN001 - gunicorn's hook signature
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def when_ready(server) -> None:  # noqa: ANN001 - gunicorn's hook signature
    if _settings.metrics_port:
        from service.observability import serve_metrics

        serve_metrics(_settings.metrics_port)
        server.log.info("metrics on port %s", _settings.metrics_port)
