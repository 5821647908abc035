"""The `crm` command: serve, demo, db upgrade/status, createuser, seed, import, worker, jobs."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import OperationalError

from crm.settings import Settings

app = typer.Typer(help="Altavoz: the relationship CRM for the people who speak for your brand.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()

DEMO_ADMIN = "admin@altavoz.demo"


def _engine(settings: Settings):  # type: ignore[no-untyped-def]
    from crm.db import make_engine

    return make_engine(settings.effective_database_url)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to this version."""
    from crm.db import schema_status, upgrade

    settings = Settings()
    engine = _engine(settings)
    before, head = schema_status(engine)
    upgrade(engine)
    console.print(f"Database at revision [bold]{head}[/] (was {before or 'empty'}): {engine.url.render_as_string()}")


@db_app.command("status")
def db_status() -> None:
    """Say whether the database schema is current."""
    from crm.db import schema_status

    current, head = schema_status(_engine(Settings()))
    if current == head:
        console.print(f"Up to date at revision {head}.")
    else:
        console.print(f"Behind: database at {current or 'empty'}, code needs {head}. Run `crm db upgrade`.")
        raise typer.Exit(1)


@app.command()
def createuser(
    email: Annotated[str, typer.Argument(help="Sign-in e-mail")],
    name: Annotated[str, typer.Option(help="Display name")] = "",
    role: Annotated[str, typer.Option(help="admin, manager or viewer")] = "manager",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Create a user who can sign in."""
    from pydantic import ValidationError

    from crm.accounts import service as accounts
    from crm.accounts.models import UserIn
    from crm.audit.service import SYSTEM
    from crm.db import ensure_schema_current, session_scope
    from crm.errors import DomainError
    from crm.security import hash_password

    engine = _engine(Settings())
    ensure_schema_current(engine)
    try:
        data = UserIn(email=email, name=name or email.split("@")[0], password=password, role=role)  # type: ignore[arg-type]
        password_hash = hash_password(data.password)  # before the write transaction, which it would hold up
        with session_scope(engine, write=True) as session:
            accounts.create_user(data, session=session, actor=SYSTEM, password_hash=password_hash)
    except ValidationError as exc:
        for error in exc.errors():
            console.print(f"[red]{'.'.join(map(str, error['loc']))}: {error['msg']}[/]")
        raise typer.Exit(2) from None
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from None
    console.print(f"Created {role} {email}.")


def _load_seed(settings: Settings, seed_dir: Path | None, shift: bool) -> None:
    from crm.db import utcnow
    from crm.imports.seed_loader import default_seed_dir, load_seed

    engine = _engine(settings)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(f"Loading {stage}", total=total)
            progress.update(tasks[stage], completed=done, total=total)

        result = load_seed(engine, seed_dir or default_seed_dir(), shift_to=utcnow() if shift else None, progress=report)
    console.print(
        f"Loaded {result.profiles} people, {result.identities} identities, "
        f"{result.relationships} relationships and {result.interactions} interactions."
    )


DEMO_HISTORY_MONTHS = 6


def _demo_campaigns(engine: Any) -> None:
    """The demo campaigns, then badges, rewards and thank-yous (the demo people's points come with the import)."""
    from crm.campaigns.demo import seed_campaigns
    from crm.recognition.demo import seed_recognition

    if created := seed_campaigns(engine):
        console.print(f"Created {created} demo campaigns.")
    if seed_recognition(engine):
        console.print("Created demo badges, rewards, redemptions and thank-yous.")
    from crm.listening.demo import seed_listening

    if seed_listening(engine):
        console.print("Created demo listening topics, mentions, alerts and signals.")
seed_app = typer.Typer(help="Load the demo data (`crm seed`), or generate a synthetic community (`crm seed synthetic`).")
app.add_typer(seed_app, name="seed")


@seed_app.callback(invoke_without_command=True)
def seed(
    ctx: typer.Context,
    directory: Annotated[Path | None, typer.Option(help="Seed folder (default: the demo data shipped with Altavoz)")] = None,
    shift: Annotated[bool, typer.Option(help="Move the dates so the newest interaction is today")] = True,
) -> None:
    """Load demo data into an empty database."""
    if ctx.invoked_subcommand is not None:
        return
    from crm.db import ensure_schema_current
    from crm.imports.seed_loader import SeedError

    settings = Settings()
    ensure_schema_current(_engine(settings))
    try:
        _load_seed(settings, directory, shift)
    except SeedError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    _rank(_engine(settings), DEMO_HISTORY_MONTHS if shift else 0)  # shifted dates end today: history makes sense
    if directory is None:  # the demo people: two demo campaigns on top
        _demo_campaigns(_engine(settings))


@seed_app.command("synthetic")
def seed_synthetic(
    profiles: Annotated[int, typer.Option(help="People to add (at most 5,000,000)")] = 1000,
    edges: Annotated[int, typer.Option(help="Relationships among them")] = 10_000,
    interactions: Annotated[int, typer.Option(help="Interactions by them")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data")] = 7,
    derived_edges: Annotated[bool, typer.Option(help="Also derive edges from interactions with a counterpart")] = True,
) -> None:
    """Add a realistic, heavy-tailed synthetic community (for benchmarks); adds to what is there."""
    from crm.db import SchemaOutOfDate, ensure_schema_current
    from crm.ranking.synthetic import check_sizes, generate

    try:
        check_sizes(profiles, edges, interactions, seed)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    engine = _engine(Settings())
    try:
        ensure_schema_current(engine)
    except SchemaOutOfDate as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        tasks: dict[str, TaskID] = {}
        stages = {"planning": "Drawing the graph and the activity", "people": "Writing people and identities",
                  "relationships": "Writing relationships", "interactions": "Writing interactions",
                  "derived columns": "Refreshing reach, contributions, search",
                  "derived edges": "Deriving edges from interactions"}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stages.get(stage, stage), total=total)
            progress.update(tasks[stage], completed=done, total=total)

        result = generate(engine, profiles=profiles, edges=edges, interactions=interactions, seed=seed,
                          progress=report, derived_edges=derived_edges)
    console.print(
        f"Added {result.profiles:,} people (ids {result.first_profile_id}–{result.last_profile_id}), "
        f"{result.identities:,} identities, {result.relationships:,} relationships "
        f"(+{result.derived_relationships:,} from interactions) and {result.interactions:,} interactions "
        f"in {sum(result.seconds.values()):.1f} s."
    )


def _serve(settings: Settings, workers: int = 1) -> None:
    import uvicorn

    from crm.app import create_app

    # Several workers need an import string; they read the same CRM_* environment.
    target: Any = "crm.asgi:app" if workers > 1 else create_app(settings)
    uvicorn.run(
        target,
        workers=workers if workers > 1 else None,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # Without configured proxies, X-Forwarded-For is ignored, so it cannot reset the login limit.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        server_header=False,
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (CRM_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (CRM_PORT)")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes (one per core is a good start)")] = 1,
) -> None:
    """Run the web app."""
    from crm.db import SchemaOutOfDate, ensure_schema_current

    settings = Settings()
    settings = settings.model_copy(update={k: v for k, v in {"host": host, "port": port}.items() if v is not None})
    try:
        ensure_schema_current(_engine(settings))
    except SchemaOutOfDate as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    if workers > 1 and (host or port):
        # Workers build their settings from the environment, so pass the address that way too.
        os.environ.update({"CRM_HOST": settings.host, "CRM_PORT": str(settings.port)})
    console.print(f"Altavoz on http://{settings.host}:{settings.port}/")
    _serve(settings, workers)


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="Bind address (CRM_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (CRM_PORT)")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Prepare the demo database and stop")] = False,
) -> None:
    """Create the database, load the demo data, create a demo admin and serve."""
    from sqlalchemy import func
    from sqlmodel import select

    from crm.accounts import service as accounts
    from crm.accounts.models import Role, User, UserIn
    from crm.audit.service import SYSTEM
    from crm.db import session_scope, upgrade
    from crm.profiles.models import Profile
    from crm.security import hash_password

    settings = Settings()
    settings = settings.model_copy(update={k: v for k, v in {"host": host, "port": port}.items() if v is not None})
    engine = _engine(settings)
    upgrade(engine)
    with session_scope(engine) as session:
        empty = session.exec(select(Profile.id).limit(1)).first() is None
        admin = accounts.get_user_by_email(DEMO_ADMIN, session=session)
    if empty:
        _load_seed(settings, None, shift=True)
        _rank(engine, DEMO_HISTORY_MONTHS)  # scores, levels and six months of history from the start
        _demo_campaigns(engine)
    password = secrets.token_urlsafe(9)
    # Through the accounts service, so the audit log shows it; hashing happens before the write lock.
    if admin is None:
        password_hash = hash_password(password)
        with session_scope(engine, write=True) as session:
            accounts.create_user(UserIn(email=DEMO_ADMIN, name="Demo Admin", password=password, role=Role.admin),
                                 session=session, actor=SYSTEM, password_hash=password_hash)
    else:  # a fresh password every run, so the printed one always works; old sessions and tokens end
        assert admin.id is not None
        with session_scope(engine, write=True) as session:
            accounts.set_password(admin.id, password, session=session, actor=SYSTEM)
            if not admin.is_active:
                accounts.set_active(admin.id, True, session=session, actor=SYSTEM)
    with session_scope(engine) as session:
        users = session.exec(select(func.count()).select_from(User)).one()
    console.print(f"\nDatabase: {engine.url.render_as_string()}  ({users} user(s))")
    console.print(f"Open [bold]http://{settings.host}:{settings.port}/[/] and sign in as")
    console.print(f"  e-mail:   [bold]{DEMO_ADMIN}[/]\n  password: [bold]{password}[/]\n")
    if not no_serve:
        _serve(settings)


def _parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            console.print(f"[red]--map takes FIELD=COLUMN, not {pair!r}[/]")
            raise typer.Exit(2)
        mapping[field.strip()] = column.strip()
    return mapping


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="CSV, JSON lines, or a JSON export (see --format)", exists=True, dir_okay=False)],
    format: Annotated[str, typer.Option("--format", help="auto, csv, jsonl, discourse_directory, discourse_actions, "
                                        "github_events, x_users, x_posts, youtube_channels")] = "auto",
    entity: Annotated[str, typer.Option(help="people, interactions or relationships (real formats know theirs)")] = "people",
    source: Annotated[str, typer.Option(help="Where the data comes from; external ids are unique per source")] = "",
    map_: Annotated[list[str], typer.Option("--map", help="FIELD=COLUMN (repeatable); default: suggested from the header")] = [],  # noqa: B006
    mode: Annotated[str, typer.Option(help="skip_existing, create_update or create_only")] = "skip_existing",
    all_or_nothing: Annotated[bool, typer.Option("--all-or-nothing", help="Import nothing if any row is rejected")] = False,
    time_zone: Annotated[str, typer.Option(help="Zone of times written without one")] = "UTC",
    base_url: Annotated[str, typer.Option(help="The Discourse site's address, for links")] = "",
) -> None:
    """Import a file as a job, with a progress bar; rejected rows are listed with line and reason."""
    from crm.db import ensure_schema_current, session_scope
    from crm.imports import service as imports
    from crm.imports.formats import CONVERTERS, DEFAULT_SOURCE, Format
    from crm.imports.importer import ImportSpec
    from crm.imports.reader import FileProblem, read_table
    from crm.imports.rows import Entity, Mode, suggest_mapping
    from crm.jobs import service as jobs

    settings = Settings()
    engine = _engine(settings)
    ensure_schema_current(engine)
    try:
        fmt = Format(format) if format != "auto" else None
        chosen = CONVERTERS[fmt][0] if fmt in CONVERTERS else Entity(entity)
        spec = ImportSpec(entity=chosen, format=format, source=source or (DEFAULT_SOURCE.get(fmt) if fmt else None) or file.stem,
                          mode=Mode(mode), all_or_nothing=all_or_nothing, time_zone=time_zone, base_url=base_url)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    content = file.read_bytes()
    if len(content) > settings.max_upload_bytes:
        console.print(f"[red]{file} is larger than CRM_MAX_UPLOAD_BYTES ({settings.max_upload_bytes:,} bytes)[/]")
        raise typer.Exit(2)
    with session_scope(engine, write=True) as session:
        if fmt not in CONVERTERS:
            try:
                headers = read_table(content, format).headers
            except FileProblem as exc:
                console.print(f"[red]{file.name}: {exc}[/]")
                raise typer.Exit(2) from None
            spec.mapping = _parse_mapping(map_) or suggest_mapping(
                spec.entity, headers, imports.remembered_mapping(spec.source, session=session))
        upload = imports.save_upload(file.name, content, session=session, created_by_id=None)
        job = imports.start_import(upload, spec, session=session, created_by_id=None)
        job_id = int(job.id or 0)
    if not settings.is_sqlite:
        console.print(f"Queued as job {job_id}; running it here (any `crm worker` could have).")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as bar:
        task = bar.add_task(f"Importing {file.name}", total=None)
        status = jobs.run_job(engine, job_id, progress=lambda done, total: bar.update(task, completed=done, total=total),
                              stale_seconds=settings.job_stale_seconds)
    _print_job(engine, job_id, status)


def _print_job(engine: Any, job_id: int, status: str | None) -> None:
    from crm.db import session_scope
    from crm.imports import service as imports

    with session_scope(engine) as session:
        job = imports.import_job(job_id, session=session)
        shown = imports.rejections(job_id, session=session, limit=20)
    counts = {k: v for k, v in (job.counts or {}).items() if k != "validated"}
    console.print(f"Job {job_id}: {job.status}. " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if job.error:
        console.print(f"[red]{job.error}[/]")
    for r in shown:
        console.print(f"  line {r.line}: {r.reason}")
    if status is None:
        console.print("Another worker is running this job.")
    if job.status != "done":
        raise typer.Exit(1)


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Run the queued jobs and stop")] = False,
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="Jobs at a time (PostgreSQL)")] = 1,
) -> None:
    """Run queued jobs: procrastinate on PostgreSQL (any number of workers), the Job table on SQLite."""
    import asyncio
    import time

    from crm.db import ensure_schema_current
    from crm.jobs import service as jobs

    settings = Settings()
    engine = _engine(settings)
    ensure_schema_current(engine)
    if not settings.is_sqlite:
        from crm.jobs import queue

        url = settings.effective_database_url
        for job_id in jobs.recover_stale(engine, stale_seconds=settings.job_stale_seconds):
            queue.defer(url, job_id)
        console.print("Worker (procrastinate) waiting for jobs. Ctrl+C stops it.")
        asyncio.run(queue.run_worker_async(url, wait=not once, stale_seconds=settings.job_stale_seconds,
                                           concurrency=concurrency))
        return
    console.print("Worker (SQLite job table) waiting for jobs. Ctrl+C stops it.")
    from crm.listening.schedule import listening_tick
    from crm.ranking.schedule import rank_tick

    tick, next_tick = rank_tick(engine, settings), time.monotonic() + settings.rank_check_seconds
    listen = listening_tick(engine, settings)  # its steps are guarded: it never raises
    try:
        while True:
            try:
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + settings.rank_check_seconds
                    try:
                        tick()
                    finally:
                        listen()
                ran = jobs.run_pending(engine, stale_seconds=settings.job_stale_seconds)
            except OperationalError as exc:  # e.g. SQLite locked by a long all-or-nothing import elsewhere
                if once:
                    raise
                console.print(f"[yellow]The database is busy ({exc.orig}); trying again shortly.[/yellow]")
                ran = 0
            if once:
                console.print(f"Ran {ran} job(s).")
                return
            time.sleep(settings.job_poll_seconds)
    except KeyboardInterrupt:
        console.print("Stopped.")


def _rank(engine: Any, backfill_months: int) -> None:
    from crm.ranking import service as ranking

    stages = {"reading": "Reading people, contributions and connections", "snapshots": "Writing score snapshots",
              "people": "Updating people"}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stages.get(stage, stage), total=total)
            progress.update(tasks[stage], completed=done, total=total)

        try:
            if backfill_months:
                runs = ranking.backfill(engine, months=backfill_months, progress=report)
            else:
                runs = [ranking.recompute(engine, trigger="cli", progress=report)]
        except ranking.RecomputeBusy as exc:
            progress.stop()
            console.print(f"[yellow]{exc.message}[/]")
            raise typer.Exit(1) from None
    run = runs[-1]
    console.print(
        f"Scored {run.profiles:,} people from {run.interactions:,} contributions and {run.edges:,} connections "
        f"with weights version {run.weight_version} in {sum(r.seconds for r in runs):.2f} s "
        f"(PageRank converged in {run.iterations} iterations)."
    )


@app.command()
def rank(
    backfill: Annotated[int, typer.Option(min=0, max=36, help="Also compute the scores as they stood at the end "
                                                                "of each of the last N months (history)")] = 0,
) -> None:
    """Recompute everyone's reach, advocacy, influence, score, rank and level now."""
    from crm.db import ensure_schema_current

    engine = _engine(Settings())
    ensure_schema_current(engine)
    _rank(engine, backfill)


@app.command("jobs")
def list_jobs(limit: Annotated[int, typer.Option(min=1, max=500)] = 20) -> None:
    """The latest jobs with their status and counts."""
    from crm.db import ensure_schema_current, session_scope
    from crm.jobs import service as jobs

    engine = _engine(Settings())
    ensure_schema_current(engine)
    with session_scope(engine) as session:
        for job in jobs.list_jobs(session=session, limit=limit):
            counts = ", ".join(f"{k} {v}" for k, v in (job.counts or {}).items() if k != "validated")
            console.print(f"{job.id:>5}  {job.kind:<8} {job.status:<9} {job.progress}/{job.total}  {job.title}  {counts}")



recognition_app = typer.Typer(help="Recognition chores: the anti-gaming scan.")
app.add_typer(recognition_app, name="recognition")


@recognition_app.command("scan")
def recognition_scan() -> None:
    """Look for point-farming rings and duplicate identities earning separately; flagged people's new
    points are held for review (Recognition → Review)."""
    from crm.audit.service import SYSTEM
    from crm.db import ensure_schema_current, session_scope
    from crm.recognition import gaming

    settings = Settings()
    engine = _engine(settings)
    ensure_schema_current(engine)
    with session_scope(engine, write=True) as session:
        result = gaming.scan(session=session, actor=SYSTEM)
    console.print(f"Looked at {result.people} people: {result.rings} rings and {result.duplicates} duplicate pairs "
                  f"that both earn; {result.flagged} new flags.")


if __name__ == "__main__":
    app()
