"""Do people signing in slow down everyone else's writes? The real app (uvicorn, 1 worker, SQLite).

    python benchmarks/bench_login_contention.py [--quick] [--duration S] [--writers N] [--logins N]

Prepares a SQLite database in a temp dir (migrated, one manager with an API token, LOGINS users
with passwords) and serves `benchmarks/_app.py` on 127.0.0.1. Then, for DURATION seconds each:

    reference   WRITERS threads create people through the API (POST /api/v1/profiles), nothing else
    contended   the same writers while LOGINS threads sign in over and over with the right password
    flooded     the same writers while FLOOD threads guess passwords from ever-new addresses

and prints writes/s, p50/p99/max write latency and sign-ins/s for both, and the ratio of the two
write rates (goal: at least 0.5). Before the fix the Argon2 check (~0.3 s) ran inside the login's
write transaction, which on SQLite blocks every other writer: six people signing in took other
writes from about 3,300 to 46 in 15 s, with waits up to 7 s.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import threading
import time
from pathlib import Path

try:
    import httpx2 as httpx  # the test extra installs httpx2, httpx's maintained successor
except ImportError:
    import httpx  # type: ignore[no-redef]
from _common import machine_line, percentile, print_table  # before crm: puts the repo root on sys.path
from bench_list_page import free_port, server, settings_env

from crm.accounts import service as accounts
from crm.accounts.models import Role, TokenIn, UserIn
from crm.audit.service import SYSTEM
from crm.db import make_engine, session_scope, upgrade
from crm.security import hash_password

PASSWORD = "bench-password-123"  # noqa: S105 - throw-away users in a throw-away database
GOAL_RATIO = 0.5


def prepare(directory: Path, logins: int) -> tuple[str, str]:
    url = f"sqlite:///{directory / 'altavoz.db'}"
    engine = make_engine(url)
    upgrade(engine)
    password_hash = hash_password(PASSWORD)
    with session_scope(engine, write=True) as session:
        writer = accounts.create_user(UserIn(email="writer@bench.example", name="Writer", password=PASSWORD, role=Role.manager),
                                      session=session, actor=SYSTEM, password_hash=password_hash)
        _, token = accounts.create_api_token(writer, TokenIn(name="bench", days=1), session=session, actor=SYSTEM)
        for n in range(logins):
            accounts.create_user(UserIn(email=f"person{n}@bench.example", name=f"P{n}", password=PASSWORD, role=Role.viewer),
                                 session=session, actor=SYSTEM, password_hash=password_hash)
    engine.dispose()
    return url, token


def run_phase(base: str, token: str, *, writers: int, logins: int, seconds: float, flood: int = 0) -> dict[str, float]:
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    signed_in = [0]
    errors = [0]
    lock = threading.Lock()

    def write(n: int) -> None:
        with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
            i = 0
            while time.monotonic() < stop:
                started = time.monotonic()
                response = client.post("/api/v1/profiles", json={"display_name": f"Writer {n} person {i}"})
                elapsed = time.monotonic() - started
                with lock:
                    if response.status_code == 201:
                        latencies.append(elapsed)
                    else:
                        errors[0] += 1
                i += 1

    def sign_in(n: int) -> None:
        while time.monotonic() < stop:
            with httpx.Client(base_url=base, timeout=60) as client:
                page = client.get("/login")
                match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
                assert match, "no csrf_token on /login"
                response = client.post("/login", data={"email": f"person{n}@bench.example", "password": PASSWORD,
                                                       "csrf_token": match.group(1)})
                with lock:
                    if response.status_code == 303:
                        signed_in[0] += 1
                    else:
                        errors[0] += 1

    def guess(n: int) -> None:
        """A stranger: wrong passwords for made-up accounts, each from an address of its own (the
        server believes X-Forwarded-For from 127.0.0.1 here), so the login limits never kick in."""
        i = 0
        with httpx.Client(base_url=base, timeout=60) as client:
            page = client.get("/login")
            match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert match, "no csrf_token on /login"
            while time.monotonic() < stop:
                client.post("/login", data={"email": f"nobody{n}-{i}@bench.example", "password": "guess",
                                            "csrf_token": match.group(1)},
                            headers={"X-Forwarded-For": f"198.51.{n}.{i % 250}"})
                i += 1

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    threads += [threading.Thread(target=guess, args=(n,)) for n in range(flood)]
    threads += [threading.Thread(target=sign_in, args=(n,)) for n in range(logins)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "writes": len(latencies), "writes_per_s": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies, default=float("nan")) * 1000, "logins": signed_in[0], "errors": errors[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 s per phase")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--logins", type=int, default=6)
    parser.add_argument("--flood", type=int, default=40, help="threads of a stranger guessing passwords (third phase)")
    args = parser.parse_args()
    seconds = 5.0 if args.quick else args.duration
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="avz-bench-login-") as tmp:
        directory = Path(tmp)
        url, token = prepare(directory, args.logins)
        port = free_port()
        env = {**settings_env(directory, url), "CRM_TRUSTED_PROXIES": '["127.0.0.1"]'}
        with server(env, port, workers=1):
            base = f"http://127.0.0.1:{port}"
            reference = run_phase(base, token, writers=args.writers, logins=0, seconds=seconds)
            contended = run_phase(base, token, writers=args.writers, logins=args.logins, seconds=seconds)
            flooded = run_phase(base, token, writers=args.writers, logins=0, seconds=seconds, flood=args.flood)
    rows = [
        [name, r["writes"], r["writes_per_s"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["logins"], r["errors"]]
        for name, r in (("reference: writes only", reference), (f"with {args.logins} people signing in", contended),
                        (f"with {args.flood} threads guessing passwords", flooded))
    ]
    print_table(["phase", "writes", "writes/s", "p50 ms", "p99 ms", "max ms", "sign-ins", "errors"], rows,
                title=f"{args.writers} writer threads, {seconds:.0f} s per phase, SQLite, 1 uvicorn worker")
    ratio = contended["writes_per_s"] / reference["writes_per_s"]
    verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
    print(f"\nwrites kept under sign-in load: {ratio:.2f} of the reference (goal >= {GOAL_RATIO}: {verdict})")
    print(f"writes kept under a password-guessing flood: {flooded['writes_per_s'] / reference['writes_per_s']:.2f}"
          " of the reference (guesses beyond the queue get 503 at once)")


if __name__ == "__main__":
    main()
