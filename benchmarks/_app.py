"""The app as an import string, for uvicorn's multi-worker mode (used by bench_list_page.py).

Configured only through the environment, like a deployment: CRM_DATABASE_URL, CRM_DATA_DIR,
CRM_SECRET_KEY, CRM_PAGE_SIZE, ... (see crm/settings.py). The engine is still built in the
lifespan, per worker process.

    CRM_DATABASE_URL=sqlite:////tmp/x.db CRM_SECRET_KEY=... python benchmarks/_app.py --port 8765 --workers 2
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script, benchmarks/ (not the repo root) is on sys.path
    sys.path.insert(0, str(ROOT))

from crm.app import create_app  # noqa: E402
from crm.settings import Settings  # noqa: E402

app = create_app(Settings())


def main() -> None:
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="Serve benchmarks._app:app with uvicorn.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    uvicorn.run(
        "benchmarks._app:app",
        app_dir=str(ROOT),
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
