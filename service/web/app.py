"""create_app(): REST routers, GraphQL, error handlers, middleware, lifespan."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager, nullcontext
from typing import Any

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import Depends, FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from service import __version__
from service.config import get_settings
from service.db import database
from service.kit.retry import TransactionRetryMiddleware
from service.models import load_all, load_hooks
from service.observability import (
    AccessLogMiddleware,
    TracingMiddleware,
    configure_logging,
    metrics_endpoint,
    setup_tracing,
)
from service.web import browsers, openapi_contract, openapi_problems, problems
from service.web.idempotency import IdempotencyMiddleware
from service.web.language import LanguageMiddleware
from service.web.limits import BodySizeLimitMiddleware, RateLimitMiddleware
from service.web.links import PageLinkMiddleware
from service.web.routing import install_route_cache, strict_request

DESCRIPTION = """Headless performance management: OKRs and KPIs blended into one fair,
explainable score, turned into bonuses and promotions. Errors are RFC 9457 problem+json;
lists are cursor-paged; single resources carry ETags and honour If-Match; POST honours
Idempotency-Key."""


class App(FastAPI):
    """FastAPI with CORS around the whole middleware stack, Starlette's error middleware
    (the one that answers a 500) included, so every answer carries the CORS headers
    (service/web/browsers.py), and the answer's language just inside it (every answer,
    a 500 too, in the language `Accept-Language` asks for: service/web/language.py).
    Middleware added with `add_middleware` sits inside both."""

    cors: dict[str, Any] | None = None  # CORSMiddleware's options; None: no CORS

    def build_middleware_stack(self) -> ASGIApp:
        stack = LanguageMiddleware(super().build_middleware_stack())
        return stack if self.cors is None else CORSMiddleware(stack, **self.cors)


# Python's own thresholds for generations 0 and 1; a full collection is considered after
# 100 collections of generation 1 instead of 10 (see `tune_collector`).
COLLECTOR_THRESHOLDS = (700, 10, 100)


def tune_collector() -> None:
    """Makes the cyclic garbage collector's full passes ten times rarer.

    A large answer keeps hundreds of thousands of objects alive while it is built (the
    rows its dataloaders read, the objects resolved from them, the result tree), and
    with Python's default thresholds each of those is promoted quickly and walked again
    by full collections every ~70,000 allocations: a GraphQL page of 500 objectives with
    their key results and check-ins ran about three full passes of 0.2 s or more each,
    as much time as the rest of its execution (`bench/http_load.py --only graphql`, with
    the collector's own callbacks timing each pass). Generation 0 and 1 keep their
    defaults, so young garbage is reclaimed as promptly as before; only the rare pass
    over everything long-lived waits longer (Python 3.11 also skips it until a quarter
    of that heap is new). Reference counting, which frees nearly everything, is not
    affected. Pausing the collector during large operations instead would leave it off
    for as long as such requests overlap."""
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


@asynccontextmanager
async def lifespan(_: FastAPI):
    """Start in-process delivery where configured and, with `SCORE_JOBS_IN_API`, a runner of
    recompute jobs' chunks (service/scoring/jobs.py), and freeze the start-up heap.

    Everything alive once the app is built (models, routes, the GraphQL schema, the
    OpenAPI document) lives as long as the process. `gc.freeze()` moves it out of the
    collector's generations, so a full collection walks only what requests allocate and
    does not stall every request in flight for tens of milliseconds (a p99 cost).
    """
    from service.scoring import jobs as score_jobs
    from service.webhooks.delivery import inprocess as webhook_delivery

    gc.collect()
    gc.freeze()
    runner = score_jobs.running() if get_settings().score_jobs_in_api else nullcontext()
    async with webhook_delivery(), runner:
        yield
    await database.dispose()


def create_app() -> FastAPI:
    settings = get_settings()
    tune_collector()
    configure_logging(settings.log_level, settings.log_json)
    setup_tracing(settings)
    app = App(
        title="perf-service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        dependencies=[Depends(strict_request)],
        # FastAPI's built-in telemetry, active whenever a global tracer provider is set,
        # would open a second server span around the one the ASGI instrumentation opens
        # (service/observability.py), and with the raw path: off.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )  # 405 for literal paths, unknown query: 422
    problems.install(app)
    openapi_problems.install(app)  # every operation documents its problem+json answers
    openapi_contract.install(app)  # operation ids, tags, servers (service/web/openapi_contract.py)
    load_all()
    load_hooks()

    from service.audit.api import router as audit_router
    from service.auth.api import router as clients_router
    from service.briefs.api import router as briefs_router
    from service.cycles.api import router as cycles_router
    from service.development.api import router as development_router
    from service.evaluations.api import router as evaluations_router
    from service.graphql.schema import graphql_router
    from service.incentives.api import router as incentives_router
    from service.kpi.api import router as kpi_router
    from service.meetings.api import feed_router as calendar_feed_router
    from service.meetings.api import router as meetings_router
    from service.okr.api import router as okr_router
    from service.org.api import router as org_router
    from service.privacy.api import router as privacy_router
    from service.scoring.api import router as scoring_router
    from service.tasks.api import router as tasks_router
    from service.tenants.api import router as tenants_router
    from service.web.health import router as health_router
    from service.webhooks.api import router as webhooks_router

    app.include_router(health_router)
    app.include_router(tenants_router)  # before org_router: /organization/export is literal
    if settings.metrics_port is None:  # else a listener of its own serves them (serve_metrics)
        app.add_api_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.include_router(org_router)
    app.include_router(privacy_router)
    app.include_router(scoring_router)
    app.include_router(clients_router)
    app.include_router(cycles_router)
    app.include_router(kpi_router)
    app.include_router(okr_router)
    app.include_router(evaluations_router)
    app.include_router(audit_router)
    app.include_router(webhooks_router)
    # before incentives: POST /nominations/{id}/development-plan is not a decision
    app.include_router(development_router)
    app.include_router(incentives_router)
    app.include_router(meetings_router)
    app.include_router(calendar_feed_router)
    app.include_router(tasks_router)
    app.include_router(briefs_router)
    app.include_router(graphql_router, prefix="/graphql", include_in_schema=False)

    from service.scim.app import MOUNT_PATH, build_scim_app

    # SCIM 2.0 at /scim/v2 (Okta, Microsoft Entra). scim2-server types the ASGI scope and
    # messages as `dict`, not the `MutableMapping` of the ASGI spec (and Starlette).
    app.mount(MOUNT_PATH, build_scim_app())  # type: ignore[arg-type]
    if settings.route_cache:
        install_route_cache(app)  # a request tries the route that answered its shape before

    # Outermost first: CORS (around everything, `App`), gzip, request id, tracing, access log/metrics,
    # rate limit, body size, idempotency, transaction retry, page links.
    app.add_middleware(PageLinkMiddleware)  # innermost: Link rel="next" on list pages (service/web/links.py)
    app.add_middleware(TransactionRetryMiddleware)  # reruns a request that lost a race
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(BodySizeLimitMiddleware)
    app.add_middleware(RateLimitMiddleware)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(TracingMiddleware)  # the server span, named by the access log inside it
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID")
    browsers.install_gzip(app, settings)  # outside idempotency: replays are stored uncompressed
    app.cors = browsers.cors_options(settings)
    return app
