"""The 50-row people list under load: the real app, uvicorn with 2 worker processes, loopback only.

    python benchmarks/bench_list_page.py [--quick] [--duration S] [--connections N] [--client wrk|httpx] [--profile]

Prepares a SQLite database in a temp dir (migrated, the demo seed loaded, one manager user),
starts `benchmarks/_app.py` (uvicorn.run("benchmarks._app:app", workers=2), configured through
CRM_* environment variables, CRM_PAGE_SIZE=50) on 127.0.0.1, signs in like a browser (GET /login,
read the csrf_token hidden input, POST the form) and then drives, with N concurrent keep-alive
connections for a bounded time each:

    GET /people                        the full 50-row page, signed in (what the goal is about)
    GET /people  (HX-Request: true)    the same page as the htmx fragment (no layout)
    GET /login   (no cookie)           reference: a small template, no database
    GET /static/css/app.css            reference: a static file through the same middleware stack

The load generator is `wrk` when installed (apt-get install wrk), else an httpx.AsyncClient
pool; either way it shares the 2 cores with the server. Server CPU per request is read from
/proc for the worker processes. With --profile, an in-process cProfile of /people requests
(sync routes run inline, so the profiler sees them) shows what dominates.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import gc
import importlib
import os
import pstats
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

try:
    import httpx2 as httpx  # the test extra installs httpx2, httpx's maintained successor
except ImportError:
    import httpx  # type: ignore[no-redef]
from _common import ROOT, machine_line, percentile, print_table  # before crm: puts the repo root on sys.path

from crm.accounts import service as accounts
from crm.accounts.models import Role, UserIn
from crm.audit.service import SYSTEM
from crm.db import make_engine, session_scope, upgrade, utcnow
from crm.imports.seed_loader import default_seed_dir, load_seed
from crm.security import hash_password

EMAIL = "bench@altavoz.example.com"
PASSWORD = "bench-password-123"  # noqa: S105 - a throw-away user in a throw-away database
PAGE_SIZE = 50
GOAL_RPS = 1000
GOAL_P99_MS = 100

WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d socket_errors=%d status_errors=%d p50=%d p90=%d p99=%d max=%d\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class Target:
    label: str
    path: str
    signed_in: bool
    headers: tuple[tuple[str, str], ...] = ()
    reference: bool = False


TARGETS = (
    Target("GET /people (full page, 50 rows)", "/people", True),
    Target("GET /people (htmx fragment)", "/people", True, (("HX-Request", "true"),)),
    Target("ref: GET /login (anonymous)", "/login", False, reference=True),
    Target("ref: GET /static/css/app.css", "/static/css/app.css", False, reference=True),
)


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_s: float
    worker_split: str  # share of the server CPU per process that did work, busiest first

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_s * 1000 / max(1, self.requests)


# ---- setup -----------------------------------------------------------------------------------------------


def prepare_database(directory: Path) -> str:
    url = f"sqlite:///{directory / 'altavoz.db'}"
    engine = make_engine(url)
    upgrade(engine)
    report = load_seed(engine, default_seed_dir(), shift_to=utcnow())
    with session_scope(engine, write=True) as session:
        accounts.create_user(UserIn(email=EMAIL, name="Bench", password=PASSWORD, role=Role.manager), session=session,
                             actor=SYSTEM, password_hash=hash_password(PASSWORD))
    engine.dispose()
    print(f"database: demo seed ({report.profiles} people, {report.identities} identities, "
          f"{report.interactions} interactions) + 1 user")
    return url


def settings_env(directory: Path, url: str) -> dict[str, str]:
    return {
        "CRM_DATABASE_URL": url,
        "CRM_DATA_DIR": str(directory),
        "CRM_SECRET_KEY": secrets.token_urlsafe(32),
        "CRM_PAGE_SIZE": str(PAGE_SIZE),
        "CRM_LOG_LEVEL": "warning",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(env: dict[str, str], port: int, workers: int) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, str(ROOT / "benchmarks" / "_app.py"), "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer within 60 s")
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # our own process group (start_new_session)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def sign_in(base: str) -> dict[str, str]:
    """Like a browser: the form's hidden csrf_token plus the crm_csrf cookie, then POST the form."""
    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/login")
        match = re.search(r'name="csrf_token"\s+value="([^"]+)"', page.text) or re.search(
            r'value="([^"]+)"\s+name="csrf_token"', page.text
        )
        if match is None:
            raise RuntimeError("no csrf_token input on /login")
        form = {"email": EMAIL, "password": PASSWORD, "csrf_token": match.group(1), "next": "/people"}
        response = client.post("/login", data=form)
        if response.status_code != 303 or "crm_session" not in client.cookies:
            raise RuntimeError(f"sign-in failed: {response.status_code} {response.text[:300]}")
        cookies = {name: client.cookies[name] for name in ("crm_session", "crm_csrf")}
        check = client.get("/people")
        rows = check.text.count('class="person-link"')
        if check.status_code != 200 or rows != PAGE_SIZE:
            raise RuntimeError(f"/people answered {check.status_code} with {rows} rows, expected {PAGE_SIZE}")
        print(f"signed in; /people is {len(check.content):,} bytes with {rows} rows")
        return cookies


# ---- server CPU from /proc ----------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def server_cpu_seconds(pid: int) -> dict[int, float]:
    """utime + stime of the supervisor and of each of its child (worker) processes."""
    out = {}
    for p in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[p] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


# ---- load generators ------------------------------------------------------------------------------------------


def _headers(target: Target, cookies: dict[str, str]) -> dict[str, str]:
    headers = dict(target.headers)
    if target.signed_in:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return headers


Measured = tuple[int, float, float, float, int]  # requests, seconds, p50 ms, p99 ms, errors


def run_wrk(url: str, headers: dict[str, str], connections: int, seconds: float, script: Path) -> Measured:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    match = re.search(r"^BENCH (.*)$", out, re.M)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    f = {k: int(v) for k, v in (pair.split("=") for pair in match.group(1).split())}
    return f["requests"], f["duration_us"] / 1e6, f["p50"] / 1000, f["p99"] / 1000, f["socket_errors"] + f["status_errors"]


async def _httpx_load(url: str, headers: dict[str, str], connections: int, seconds: float) -> Measured:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=10, headers=headers) as client:
        start = time.perf_counter()
        deadline = start + seconds

        async def one_client() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    response = await client.get(url)
                    await response.aread()
                    ok = response.status_code < 400
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += not ok

        await asyncio.gather(*(one_client() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    return len(latencies), elapsed, percentile(latencies, 50), percentile(latencies, 99), errors


def load(client: str, url: str, headers: dict[str, str], connections: int, seconds: float, script: Path,
         server_pid: int) -> LoadResult:
    cpu0 = server_cpu_seconds(server_pid)
    if client == "wrk":
        requests, elapsed, p50, p99, errors = run_wrk(url, headers, connections, seconds, script)
    else:
        requests, elapsed, p50, p99, errors = asyncio.run(_httpx_load(url, headers, connections, seconds))
    cpu1 = server_cpu_seconds(server_pid)
    used = sorted((cpu1[p] - cpu0.get(p, 0.0) for p in cpu1), reverse=True)
    total = sum(used)
    split = "/".join(f"{100 * u / total:.0f}" for u in used if u > 0.01 * total) if total else "-"
    return LoadResult(requests, elapsed, p50, p99, errors, total, split)


# ---- in-process figures and profile ---------------------------------------------------------------------------


class Stopwatch:
    """Wraps module-level functions the route reaches by attribute, adding up their wall time."""

    def __init__(self, targets: tuple[tuple[str, str], ...]) -> None:
        self.totals: dict[str, float] = {f"{m}.{a}": 0.0 for m, a in targets}
        self.active = False
        self._saved: list[tuple[object, str, object]] = []
        for module_name, attr in targets:
            module = importlib.import_module(module_name)
            original = getattr(module, attr, None)
            if original is None:
                self.totals.pop(f"{module_name}.{attr}")
                continue
            self._saved.append((module, attr, original))
            setattr(module, attr, self._wrap(f"{module_name}.{attr}", original))

    def _wrap(self, key: str, func: Callable[..., object]) -> Callable[..., object]:
        @functools.wraps(func)
        def timed(*args: object, **kwargs: object) -> object:
            if not self.active:
                return func(*args, **kwargs)
            t0 = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.totals[key] += time.perf_counter() - t0

        return timed

    def restore(self) -> None:
        for module, attr, original in self._saved:
            setattr(module, attr, original)


TIMED = (
    ("crm.accounts.service", "session_user"),
    ("crm.profiles.search", "list_profiles"),
    ("crm.web.people_list", "render"),
)


def in_process(env: dict[str, str], n: int, profile: bool) -> None:
    """Sequential requests through ASGI in this process, with sync routes run inline (so the
    profiler sees them): ms per request per target, where GET /people spends it, and (with
    profile) a cProfile of GET /people."""
    import anyio.to_thread

    from crm.app import create_app
    from crm.settings import Settings

    async def inline(func, *args, **_kwargs):  # type: ignore[no-untyped-def]
        return func(*args)

    original = anyio.to_thread.run_sync
    anyio.to_thread.run_sync = inline  # benchmark-only: no thread hop, so the profiler sees the route
    saved_env = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    stopwatch = Stopwatch(TIMED)
    try:
        app = create_app(Settings())

        async def run() -> tuple[list[list[object]], cProfile.Profile | None]:
            rows: list[list[object]] = []
            profiler = None
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                    page = await client.get("/login")
                    token = re.search(r'name="csrf_token"\s+value="([^"]+)"', page.text)
                    assert token is not None
                    form = {"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1), "next": "/people"}
                    signed = await client.post("/login", data=form)
                    assert signed.status_code == 303, signed.text[:300]
                    session_cookie = client.cookies["crm_session"]
                    for target in TARGETS:
                        client.cookies.delete("crm_session")
                        if target.signed_in:
                            client.cookies.set("crm_session", session_cookie)
                        for _ in range(20):
                            (await client.get(target.path, headers=dict(target.headers))).raise_for_status()
                        stopwatch.active = target is TARGETS[0]
                        times = []
                        for _ in range(n):
                            t0 = time.perf_counter()
                            (await client.get(target.path, headers=dict(target.headers))).raise_for_status()
                            times.append((time.perf_counter() - t0) * 1000)
                        stopwatch.active = False
                        mean = sum(times) / len(times)
                        rows.append([target.label, percentile(times, 50), mean, percentile(times, 99), 1000 / mean,
                                     2000 / mean])
                        if target is TARGETS[0]:
                            inner = 0.0
                            for key, total in stopwatch.totals.items():
                                ms = total * 1000 / n
                                inner += ms
                                rows.append([f"  of which {key.rsplit('.', 1)[1]}() ({key.rsplit('.', 1)[0]})", "", ms,
                                             "", "", f"{100 * ms / mean:.0f} %"])
                            rows.append(["  of which the rest (FastAPI, middleware, DB session, ASGI)", "", mean - inner,
                                         "", "", f"{100 * (mean - inner) / mean:.0f} %"])
                    # The same page with FastAPI's real threadpool hops (one per sync dependency and route),
                    # then (benchmark-side experiment) with the startup heap frozen out of the cyclic GC.
                    client.cookies.set("crm_session", session_cookie)
                    for label, threads, freeze in (("sync deps/route in the threadpool (as served)", True, False),
                                                   ("experiment: gc.freeze() after startup", False, True)):
                        anyio.to_thread.run_sync = original if threads else inline
                        if freeze:
                            gc.collect()
                            gc.freeze()
                        times = []
                        for _ in range(n):
                            t0 = time.perf_counter()
                            (await client.get(TARGETS[0].path)).raise_for_status()
                            times.append((time.perf_counter() - t0) * 1000)
                        anyio.to_thread.run_sync = inline
                        gc.unfreeze()
                        mean = sum(times) / len(times)
                        rows.append([f"GET /people, {label}", percentile(times, 50), mean, percentile(times, 99),
                                     1000 / mean, 2000 / mean])
                    if profile:
                        profiler = cProfile.Profile()
                        profiler.enable()
                        for _ in range(n):
                            await client.get("/people")
                        profiler.disable()
            return rows, profiler

        rows, profiler = asyncio.run(run())
    finally:
        stopwatch.restore()
        anyio.to_thread.run_sync = original
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    print_table(
        ["target (in-process ASGI, sequential, no HTTP server)", "p50 ms", "mean ms", "p99 ms", "req/s, 1 core",
         "2-core ceiling / share"],
        rows, title=f"in-process cost per request ({n} sequential requests each, after 20 warm-up)",
    )
    if profiler is not None:
        report_profile(profiler, n)


BUCKETS = (
    ("whole request (app __call__)", "starlette/applications.py", "__call__"),
    ("session + user lookup (deps.optional_user)", "crm/deps.py", "optional_user"),
    ("list_profiles (SQL + ORM)", "crm/profiles/search.py", "list_profiles"),
    ("  of which sqlite3 execute/fetch (C)", "~", "<method 'execute' of 'sqlite3.Cursor' objects>"),
    ("template rendering (templating.render)", "crm/templating.py", "render"),
    ("  of which babel number/date formatting", "babel/", "format_"),
    ("  of which markupsafe escaping", "markupsafe/", "escape"),
    ("SQLModel/ORM object construction", "sqlalchemy/orm/loading.py", "_instance"),
)


def report_profile(profiler: cProfile.Profile, n: int) -> None:
    stats = pstats.Stats(profiler)
    raw = stats.stats  # type: ignore[attr-defined]
    whole = 0.0
    rows = []
    for label, file_part, func in BUCKETS:
        cum = 0.0
        for (filename, _line, name), (_cc, _nc, _tt, ct, _callers) in raw.items():
            if file_part != "~" and file_part not in filename:
                continue
            if (func.endswith("_") and name.startswith(func)) or name == func:
                cum += ct
        if label.startswith("whole"):
            whole = cum
        rows.append([label, cum * 1000 / n, f"{100 * cum / whole:.0f} %" if whole else ""])
    print_table(["GET /people, cProfile (inflates Python-heavy parts)", "ms / request", "share"], rows,
                title=f"what dominates GET /people ({n} profiled requests; buckets overlap where nested)")
    print("\ntop 20 functions by internal time:")
    stats.sort_stats("tottime").print_stats(20)


# ---- main -------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 s per target instead of 10, fewer in-process requests")
    parser.add_argument("--duration", type=float, default=None, help="seconds of load per target (default 10, quick 2)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--client", choices=("wrk", "httpx"), default="wrk" if shutil.which("wrk") else "httpx")
    parser.add_argument("--profile", action="store_true", help="also profile /people in-process with cProfile")
    args = parser.parse_args()
    duration = args.duration or (2.0 if args.quick else 10.0)

    print(f"bench_list_page · {machine_line()}")
    http_impl = "httptools" if _importable("httptools") else "h11"
    loop_impl = "uvloop" if _importable("uvloop") else "asyncio"
    print(f"server: uvicorn {args.workers} workers ({http_impl}, {loop_impl} loop) · client: {args.client}, "
          f"{args.connections} connections, {duration:g} s per target, on the same 2 cores")
    with tempfile.TemporaryDirectory(prefix="altavoz-bench-page-") as tmp:
        directory = Path(tmp)
        url = prepare_database(directory)
        env = settings_env(directory, url)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        script = directory / "report.lua"
        script.write_text(WRK_SCRIPT)
        rows = []
        results: dict[str, LoadResult] = {}
        with server(env, port, args.workers) as proc:
            cookies = sign_in(base)
            for target in TARGETS:  # warm both workers: templates compiled, statements cached
                asyncio.run(_httpx_load(base + target.path, _headers(target, cookies), 8, 0.3 if args.quick else 1.0))
            for target in TARGETS:
                result = load(args.client, base + target.path, _headers(target, cookies), args.connections, duration,
                              script, proc.pid)
                results[target.label] = result
        main_result = results[TARGETS[0].label]
        for target in TARGETS:
            r = results[target.label]
            is_goal = target is TARGETS[0]
            rows.append([
                target.label, r.requests, r.rps, r.p50_ms, r.p99_ms, r.errors, r.cpu_ms_per_request, r.worker_split,
                "" if target is TARGETS[0] else f"{main_result.rps / r.rps:.2f}",
                (f"{'met' if r.rps >= GOAL_RPS else 'not met'} / {'met' if r.p99_ms < GOAL_P99_MS else 'not met'}"
                 if is_goal else ""),
            ])
        print_table(
            ["target", "requests", "req/s", "p50 ms", "p99 ms", "errors", "server CPU ms/req", "CPU split %",
             "/people ÷ this (req/s)",
             f"goal ≥ {GOAL_RPS:,} req/s / p99 < {GOAL_P99_MS} ms"],
            rows, title=f"{args.connections} concurrent clients, {args.workers} uvicorn workers, loopback",
        )
        in_process(env, 30 if args.quick else 300, args.profile)


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


if __name__ == "__main__":
    main()
