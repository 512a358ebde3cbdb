"""The Dockerfile, .dockerignore, gunicorn settings and docker-compose.yml, checked as far
as a machine without a container engine allows: structure, user, health check, command,
the lock file installed, and the compose services consistent with the image."""

from __future__ import annotations

import importlib
import json
import shlex
from typing import Any

import gunicorn.config
import pytest
import yaml

from service.cli import build_parser
from service.config import Settings, get_settings
from tests.deploy.kustomize import DEPLOY, ROOT

SETTINGS = {name.upper() for name in Settings.model_fields}
API_COMMAND = ["gunicorn", "-c", "python:service.web.gunicorn_conf", "service.web.app:create_app()"]


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for ins in instructions((ROOT / "Dockerfile").read_text()):
        if ins[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(ins)
    return result


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), "exec form (JSON array), so signals reach the process"
    return value


def test_dockerfile_is_multi_stage_slim_and_non_root() -> None:
    build, runtime = stages()[0], stages()[-1]
    assert len(stages()) >= 2
    assert "AS build" in build[0][1]
    args = dict(
        ins[1].partition("=")[::2] for ins in instructions((ROOT / "Dockerfile").read_text()) if ins[0] == "ARG"
    )
    for stage in (build, runtime):
        image = stage[0][1].split()[0]
        image = args.get(image.strip("${}"), image)
        assert image.startswith("python:") and image.endswith("-slim"), image
    users = [ins[1] for ins in runtime if ins[0] == "USER"]
    assert users, "the runtime stage must switch user"
    assert users[-1].split(":")[0] not in ("root", "0")
    assert not [ins for ins in runtime if ins[0] == "RUN" and "pip install" in ins[1]], (
        "nothing is installed in the runtime stage: it copies the build stage's environment"
    )
    assert any(ins[0] == "COPY" and "--from=build" in ins[1] for ins in runtime)


def test_the_runtime_lock_is_what_gets_installed() -> None:
    build = stages()[0]
    copies = [ins[1] for ins in build if ins[0] == "COPY"]
    assert any(c.split()[0] == "requirements.lock" for c in copies)
    assert not any("requirements-dev.lock" in c for c in copies), "the image has no test tools"
    installs = [ins[1] for ins in build if ins[0] == "RUN" and "pip install" in ins[1]]
    assert len(installs) == 1 and "-r /tmp/requirements.lock" in installs[0]
    assert "--no-deps" in installs[0] and "--require-hashes" in installs[0]


def test_code_and_migrations_sit_side_by_side() -> None:
    """service/migrate.py and /readyz find migrations/ next to the service package."""
    build, runtime = stages()[0], stages()[-1]
    workdir = [ins[1] for ins in build if ins[0] == "WORKDIR"][-1]
    copied = {tuple(ins[1].split()) for ins in build if ins[0] == "COPY"}
    assert {("service", "./service"), ("migrations", "./migrations"), ("alembic.ini", "./")} <= copied
    assert [ins[1] for ins in runtime if ins[0] == "WORKDIR"][-1] == workdir == "/app"
    env = " ".join(ins[1] for ins in runtime if ins[0] == "ENV")
    assert "PYTHONPATH=/app" in env and "PATH=/venv/bin:$PATH" in env


def test_healthcheck_and_command() -> None:
    runtime = stages()[-1]
    (health,) = [ins[1] for ins in runtime if ins[0] == "HEALTHCHECK"]
    assert "curl" not in health and "wget" not in health, "the slim image has neither"
    cmd = exec_form(health[health.index("CMD") + 3 :].strip())
    assert cmd[:2] == ["python", "-c"]
    assert "/healthz" in cmd[2] and "urllib.request" in cmd[2]
    compile(cmd[2], "healthcheck", "exec")
    (command,) = [ins[1] for ins in runtime if ins[0] == "CMD"]
    assert exec_form(command) == API_COMMAND
    assert not [ins for ins in runtime if ins[0] == "ENTRYPOINT"]
    assert "migrate" not in command, "replicas never migrate on start"
    exposed = [ins[1] for ins in runtime if ins[0] == "EXPOSE"]
    assert exposed == [str(Settings.model_fields["port"].default)]
    env = " ".join(ins[1] for ins in runtime if ins[0] == "ENV")
    for name in ("PORT", "WEB_CONCURRENCY", "DATA_DIR"):
        assert f"{name}=" in env and name in SETTINGS


def test_dockerignore_keeps_the_context_small_but_complete() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "tests", "data"} <= ignored
    assert not ({"service", "migrations", "requirements.lock", "alembic.ini"} & ignored)


@pytest.fixture
def gunicorn_conf(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prom"))
    monkeypatch.setattr(get_settings(), "web_concurrency", 3)
    monkeypatch.setattr(get_settings(), "port", 8123)
    import service.web.gunicorn_conf as conf

    return importlib.reload(conf)


def test_gunicorn_settings(gunicorn_conf, tmp_path) -> None:
    conf = gunicorn_conf
    assert conf.worker_class == "service.web.http_protocol.Worker"  # uvicorn's, with bounded request heads
    module, name = conf.worker_class.rsplit(".", 1)
    worker = getattr(importlib.import_module(module), name)
    from uvicorn_worker import UvicornWorker

    assert issubclass(worker, UvicornWorker) and worker.CONFIG_KWARGS["http"].endswith("BoundedHttpToolsProtocol")
    assert conf.workers == 3, "WEB_CONCURRENCY"
    assert conf.bind == ["0.0.0.0:8123"], "PORT"
    assert conf.accesslog is None, "the app logs requests itself, without raw paths"
    known = {s.name for s in gunicorn.config.KNOWN_SETTINGS}
    public = {
        n
        for n, v in vars(conf).items()
        if not n.startswith("_") and not callable(v) and n not in {"annotations", "os", "shutil", "structlog", "Path"}
    }
    assert public <= known, f"not gunicorn settings: {public - known}"
    assert {"on_starting", "child_exit"} <= known
    stale = tmp_path / "prom" / "counter_1.db"
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    conf.on_starting(None)
    assert (tmp_path / "prom").is_dir() and not stale.exists(), "metrics of a previous run are wiped"


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_compose_services_and_order() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "pgbouncer", "migrate", "api", "worker"}
    assert services["db"]["image"].startswith("postgres:")
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in ("api", "worker"):  # PgBouncer's own checks: tests/deploy/test_network_and_metrics.py
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    parser = build_parser()
    assert services["migrate"]["command"] == ["python", "-m", "service", "migrate"]
    assert services["worker"]["command"] == ["python", "-m", "service", "worker"]
    for name in ("migrate", "worker"):
        assert parser.parse_args(services[name]["command"][3:]).command == services[name]["command"][3]
    assert services["api"]["command"] == API_COMMAND
    images = {services[n]["image"] for n in ("migrate", "api", "worker")}
    assert len(images) == 1
    for name in ("migrate", "api", "worker"):
        build = services[name]["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == (ROOT / "Dockerfile").resolve()
        assert services[name]["read_only"] is True and "/tmp" in services[name]["tmpfs"]


def test_compose_environment_is_settings_and_points_at_the_database() -> None:
    services = compose()["services"]
    db_env = services["db"]["environment"]
    for name in ("migrate", "api", "worker"):
        env = services[name]["environment"]
        unknown = set(env) - SETTINGS
        assert not unknown, f"{name}: not settings of service/config.py: {unknown}"
        url = env["DATABASE_URL"]
        assert url.startswith("postgresql+asyncpg://")
        creds, _, rest = url.removeprefix("postgresql+asyncpg://").partition("@")
        host, _, database = rest.partition("/")
        assert creds == f"{db_env['POSTGRES_USER']}:{db_env['POSTGRES_PASSWORD']}"
        assert host.split(":")[0] == ("db" if name == "migrate" else "pgbouncer") and database == db_env["POSTGRES_DB"]
        assert len(env["JWT_SECRET"]) >= 32
    port = int(services["api"]["environment"]["PORT"])
    assert services["api"]["ports"][0] == f"{port}:{port}"
    assert services["api"]["environment"]["WEBHOOK_INPROCESS"] == "false", "the worker delivers"
    assert shlex.join(services["api"]["command"]).startswith("gunicorn")
