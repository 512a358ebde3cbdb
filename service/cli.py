"""Command line: `python -m service <command>` (also the `perf-service` script)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.citus import Outcome


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from service.config import get_settings
    from service.migrate import upgrade

    settings = get_settings()
    if settings.is_sqlite:
        upgrade()  # the embedded database migrates itself; PostgreSQL uses `migrate`
    from service.web.http_protocol import PROTOCOL

    if settings.metrics_port:  # a listener of its own, beside the app (which then has no /metrics)
        from service.observability import serve_metrics

        serve_metrics(settings.metrics_port, host=args.host)

    uvicorn.run(
        "service.web.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        http=PROTOCOL,
    )


def _migrate(_: argparse.Namespace) -> None:
    from service.migrate import upgrade

    outcome = upgrade()
    print("migrations applied")
    if outcome is not None:  # the database has the citus extension
        _print_distribution(outcome)


def _print_distribution(outcome: Outcome) -> None:
    print(f"citus: {len(outcome.distributed)} tables distributed, {len(outcome.already)} already distributed")
    for line in outcome.replaced:
        print(f"citus: integration_clients: {line}")
    if outcome.distributed:
        print("citus: distributed " + ", ".join(outcome.distributed))


def _citus_distribute(_: argparse.Namespace) -> None:
    from service.citus import DistributionError, distribute_url
    from service.config import get_settings

    try:
        outcome = asyncio.run(distribute_url(get_settings().effective_database_url))
    except DistributionError as exc:
        raise SystemExit(f"citus-distribute: {exc}") from exc
    if outcome is None:
        raise SystemExit("citus-distribute: the database has no citus extension (CREATE EXTENSION citus)")
    _print_distribution(outcome)


def _create_org(args: argparse.Namespace) -> None:
    from service.bootstrap import create_org

    print(json.dumps(asyncio.run(create_org(args.name, currency=args.currency))))


def _demo(_: argparse.Namespace) -> None:
    from service.demo import load_demo

    result = asyncio.run(load_demo())
    print(json.dumps(result, indent=2))


async def finalize_closed_everywhere() -> dict[str, int]:
    """`records.finalize_closed` for every organization, one transaction each."""
    from sqlalchemy import select

    from service.auth.context import Ctx
    from service.db import database
    from service.models import load_hooks
    from service.org.models import Organization
    from service.principal import Principal
    from service.scoring.records import finalize_closed

    load_hooks()
    out: dict[str, int] = {}
    async with database.sessions() as session:
        org_ids = list((await session.execute(select(Organization.id).order_by(Organization.id))).scalars())
    for org_id in org_ids:
        async with database.sessions() as session:
            principal = Principal(
                sub="system:finalize-closed-cycles", org_id=org_id, kind="person", roles=frozenset({"admin"})
            )
            out[str(org_id)] = await finalize_closed(Ctx(session=session, principal=principal))
            await session.commit()
    await database.dispose()
    return out


def _finalize_closed(_: argparse.Namespace) -> None:
    print(json.dumps(asyncio.run(finalize_closed_everywhere())))


def _org_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an organization id: {value!r}") from exc


async def _with_database(work: Callable[[], Awaitable[Any]]) -> Any:
    """Runs `work` with the deployment's log on stderr (stdout may carry an export)."""
    from service.config import get_settings
    from service.db import database
    from service.observability import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    try:
        return await work()
    finally:
        await database.dispose()


async def apply_retention_everywhere() -> dict[str, int]:
    from service.db import database
    from service.models import load_hooks
    from service.privacy.service import apply_retention

    load_hooks()
    try:
        return await apply_retention()
    finally:
        await database.dispose()


def _org_export(args: argparse.Namespace) -> None:
    """The whole organization as JSON Lines (docs/operations.md, "Tenant lifecycle")."""
    from service.db import database
    from service.errors import DomainError
    from service.tenants.lifecycle import open_output, write_export

    async def run() -> None:
        if args.output is None:
            await write_export(database.engine, args.org, sys.stdout)
            return
        with open_output(Path(args.output)) as out:
            await write_export(database.engine, args.org, out)

    try:
        asyncio.run(_with_database(run))
    except DomainError as exc:
        if args.output:
            Path(args.output).unlink(missing_ok=True)
        raise SystemExit(f"org-export: {exc.detail}") from exc


def _org_import(args: argparse.Namespace) -> None:
    from service.db import database
    from service.errors import DomainError
    from service.tenants.lifecycle import import_lines, read_lines

    path = Path(args.file)
    if not path.is_file():
        raise SystemExit(f"org-import: no file {path}")
    try:
        outcome = asyncio.run(_with_database(lambda: import_lines(database.engine, read_lines(path))))
    except DomainError as exc:
        raise SystemExit(f"org-import: refused, nothing was written: {exc.detail}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SystemExit(f"org-import: cannot read {path}: {exc}") from exc
    rows = {name: n for name, n in outcome.rows.items() if n}
    print(json.dumps({"org_id": str(outcome.org_id), "rows": rows}))


def _org_delete(args: argparse.Namespace) -> None:
    from service.db import database
    from service.errors import DomainError
    from service.tenants.lifecycle import delete_org

    if args.confirm != args.org:
        raise SystemExit("org-delete: --confirm must repeat the organization id")

    async def run() -> dict[str, int]:
        async with database.engine.begin() as conn:
            return await delete_org(conn, args.org, actor=f"cli:{getpass.getuser()}")

    try:
        counts = asyncio.run(_with_database(run))
    except DomainError as exc:
        raise SystemExit(f"org-delete: {exc.detail}") from exc
    print(json.dumps({"org_id": str(args.org), "deleted": {k: v for k, v in counts.items() if v}}))


def _apply_retention(_: argparse.Namespace) -> None:
    print(json.dumps({"erased": asyncio.run(apply_retention_everywhere())}))


def _token(args: argparse.Namespace) -> None:
    from service.auth.tokens import issue_token

    roles = [r for r in (args.roles or "").split(",") if r]
    scopes = [s for s in (args.scopes or "").split(",") if s] if args.scopes else None
    print(
        issue_token(
            org_id=args.org,
            sub=args.sub,
            roles=roles if not scopes else None,
            scopes=scopes,
            employee_id=args.emp,
            ttl=args.ttl,
        )
    )


def _export(_: argparse.Namespace) -> None:
    from service.schemas_export import write_schemas

    for path in write_schemas():
        print(f"wrote {path}")


def _worker(args: argparse.Namespace) -> None:
    from service.config import get_settings
    from service.observability import configure_logging, setup_tracing
    from service.webhooks.worker import main as run_worker

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    setup_tracing(settings)
    if settings.worker_metrics_port:  # Prometheus scrapes the worker here
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port)
    run_worker(poll_seconds=args.poll, batch_size=args.batch, once=args.once)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="perf-service", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API (migrating an embedded database first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(fn=_serve)
    sub.add_parser("migrate", help="apply Alembic migrations to DATABASE_URL").set_defaults(fn=_migrate)
    sub.add_parser(
        "citus-distribute",
        help="distribute every table by organization on a Citus coordinator (migrate does it too)",
    ).set_defaults(fn=_citus_distribute)
    sub.add_parser("demo", help="load the demo organization and print tokens").set_defaults(fn=_demo)
    org = sub.add_parser("create-org", help="create an organization, print its id and an admin token")
    org.add_argument("name")
    org.add_argument("--currency", default="USD")
    org.set_defaults(fn=_create_org)
    tok = sub.add_parser("token", help="print a JWT signed with the local key")
    tok.add_argument("--org", required=True)
    tok.add_argument("--sub", required=True)
    tok.add_argument("--roles", default="")
    tok.add_argument("--scopes", default=None, help="comma-separated integration scopes (a client token)")
    tok.add_argument("--emp", default=None)
    tok.add_argument("--ttl", type=int, default=3600)
    tok.set_defaults(fn=_token)
    sub.add_parser("export-schemas", help="write openapi/openapi.json and openapi/schema.graphql").set_defaults(
        fn=_export
    )
    sub.add_parser(
        "finalize-closed-cycles",
        help="store the score of record of closed cycles that have none "
        "(once, after upgrading a database whose cycles were closed before records existed)",
    ).set_defaults(fn=_finalize_closed)
    export = sub.add_parser("org-export", help="write a whole organization as JSON Lines (one snapshot)")
    export.add_argument("--org", required=True, type=_org_id)
    export.add_argument("-o", "--output", default=None, help="file to write (gzipped if it ends with .gz); else stdout")
    export.set_defaults(fn=_org_export)
    imp = sub.add_parser("org-import", help="insert an organization export (ids kept; refused if any of it exists)")
    imp.add_argument("file", help="an org-export file, gzipped or not")
    imp.set_defaults(fn=_org_import)
    rm = sub.add_parser("org-delete", help="delete an organization and everything it owns")
    rm.add_argument("--org", required=True, type=_org_id)
    rm.add_argument("--confirm", required=True, type=_org_id, help="the organization id again")
    rm.set_defaults(fn=_org_delete)
    sub.add_parser(
        "apply-retention",
        help="erase (pseudonymize) every employee past their organization's retention after termination",
    ).set_defaults(fn=_apply_retention)
    worker = sub.add_parser("worker", help="deliver webhooks from the outbox (several may run)")
    worker.add_argument("--poll", type=float, default=None, help="seconds between idle polls")
    worker.add_argument("--batch", type=int, default=None, help="deliveries claimed per round")
    worker.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
    worker.set_defaults(fn=_worker)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.fn(args)
