"""The application factory."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from crm import __version__
from crm.db import ensure_schema_current, make_engine
from crm.deps import write_guard
from crm.listening.schedule import combined_tick, listening_tick
from crm.middleware import SecurityMiddleware
from crm.ranking.schedule import rank_tick
from crm.resources import share_dir
from crm.routes_check import check_routes
from crm.settings import Settings
from crm.templating import build_templates
from crm.web.errors import install_error_handlers

log = logging.getLogger("crm")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.effective_database_url)
        ensure_schema_current(engine)
        app.state.engine = engine
        # Everything loaded so far lives as long as the process: keep the collector off it, which
        # cuts the long GC pauses that made the p99 (benchmarks/README.md).
        gc.collect()  # so no garbage is frozen with it
        gc.freeze()
        worker = None
        if settings.job_worker and engine.dialect.name == "sqlite":
            # SQLite is one machine by definition: queued jobs (imports) run in a thread of this process.
            from crm.jobs.worker import InProcessWorker

            worker = InProcessWorker(engine, poll_seconds=settings.job_poll_seconds,
                                     stale_seconds=settings.job_stale_seconds,
                                     tick=combined_tick(rank_tick(engine, settings), listening_tick(engine, settings)),
                                     tick_seconds=settings.rank_check_seconds).start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            engine.dispose()

    app = FastAPI(
        title="Altavoz API",
        version=__version__,
        summary="Profiles, identities and the people who speak for your brand.",
        lifespan=lifespan,
        dependencies=[Depends(write_guard)],
        docs_url=None,  # Swagger UI needs a CDN and inline script; /api/docs is rendered here instead
        redoc_url=None,
        openapi_url=None,  # served by crm.web.api_docs, to signed-in users only
        # Answered with 413 from the Content-Length, before the body is read (Starlette's limiter);
        # a chunked body is cut off once it passes the limit. Import routes may raise their own.
        max_body_size=settings.max_body_bytes,
    )
    app.state.settings = settings
    app.state.templates = build_templates(settings.time_zone)

    from crm.api.router import api_router
    from crm.web.router import web_router

    app.include_router(api_router)
    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=share_dir("static")), name="static")
    install_error_handlers(app)
    check_routes(app)  # every route says who may call it, or the app does not start

    # Outermost first: host check, then headers and CSRF cookie.
    app.add_middleware(SecurityMiddleware, secret_key=settings.effective_secret_key, secure_cookies=settings.secure_cookies)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts)
    return app
