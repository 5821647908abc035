"""Browser fixtures: the app served by uvicorn on a free port, and Chromium driven by Playwright.

Browser tests run on SQLite only: they exercise the pages and htmx in a real browser, while the
database behaviour is covered (on both databases) by the web and API suites.

Every test fails if the page logged a console error, threw, violated the Content-Security-Policy
(no inline script, no inline style) or got a 5xx; a test that expects an error status says so with
``browser_errors.allow_status(422)``.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from crm.app import create_app
from crm.db import make_engine
from crm.settings import Settings
from tests.conftest import unavailable
from tests.factories import PASSWORD, make_user

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"

MANAGER_EMAIL = "manager@example.com"
MANAGER_NAME = "Mona Manager"

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
# A phone: with is_mobile the layout viewport grows with the content, so an overflow shows in
# document.documentElement.scrollWidth against screen.width, not in window.innerWidth.
PHONE = {"viewport": {"width": 390, "height": 844}, "screen": {"width": 390, "height": 844}, "is_mobile": True,
         "has_touch": True, "device_scale_factor": 2}

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Reported to the console, so the collector below sees violations even where Chromium's own
# message would be worded differently. Init scripts are injected by the DevTools protocol,
# so the page's CSP does not block this one.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
                " at " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


# ---- the live server ---------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    settings: Settings
    engine: Engine


def _wait_until_up(url: str, server: Any, thread: threading.Thread, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("uvicorn stopped during startup (see the captured log)")
        if server.started:
            try:
                with urllib.request.urlopen(f"{url}/login", timeout=2) as response:  # noqa: S310 (our own URL)
                    if response.status == 200:
                        return
            except OSError:
                pass
        time.sleep(0.02)
    raise RuntimeError(f"the app did not answer on {url} within {timeout} s")


@pytest.fixture
def live_server(tmp_path: Path, sqlite_template: Path) -> Iterator[LiveServer]:
    import uvicorn

    database = tmp_path / "live.db"
    shutil.copy(sqlite_template, database)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{database}",
        data_dir=tmp_path / "data",
        secret_key="browser-test-secret-key-not-for-production",
        allowed_hosts=["127.0.0.1", "localhost"],
    )
    engine = make_engine(settings.effective_database_url)
    make_user(engine, MANAGER_EMAIL, role="manager", name=MANAGER_NAME)

    # Bind the socket here and hand it to uvicorn: no window in which another process
    # (an xdist worker, say) could take a port we picked but had not yet bound.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on", server_header=False)
    server = uvicorn.Server(config)
    # Outside the main thread uvicorn installs no signal handlers, so Ctrl-C still reaches pytest.
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, server, thread)
        yield LiveServer(url=url, settings=settings, engine=engine)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        engine.dispose()
        assert not thread.is_alive(), "uvicorn did not shut down within 10 s"


# ---- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        unavailable("Chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright is not installed (pip install '.[test]')")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        except Exception as exc:  # a broken Chromium install is as good as none
            unavailable(f"Chromium would not start: {exc}")
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class BrowserErrors:
    """Console errors, uncaught exceptions, CSP violations and unexpected error responses."""

    messages: list[str] = field(default_factory=list)
    allowed_statuses: set[int] = field(default_factory=set)

    def allow_status(self, *statuses: int) -> None:
        """The test expects responses with these statuses (and Chromium's console line about them)."""
        self.allowed_statuses.update(statuses)

    def on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        text = str(message.text)
        status = re.search(r"responded with a status of (\d{3})", text)
        if status and int(status.group(1)) in self.allowed_statuses:
            return
        self.messages.append(f"console: {text} ({message.location.get('url', '')})")

    def on_page_error(self, error: Any) -> None:
        self.messages.append(f"uncaught: {error}")

    def on_response(self, response: Any) -> None:
        if response.status >= 500 or (
            response.status >= 400 and response.status not in self.allowed_statuses
        ):
            self.messages.append(f"HTTP {response.status} for {response.request.method} {response.url}")

    def take(self) -> list[str]:
        found, self.messages = self.messages, []
        return found


@pytest.fixture
def browser_errors() -> BrowserErrors:
    return BrowserErrors()


@pytest.fixture
def new_page(browser: Any, live_server: LiveServer, browser_errors: BrowserErrors) -> Iterator[Callable[..., Any]]:
    """Opens a page in a browser context of its own: `new_page(**PHONE, locale="es-ES")`.
    Desktop size and British English unless told otherwise."""
    contexts: list[Any] = []

    def open_page(**options: Any) -> Any:
        context = browser.new_context(base_url=live_server.url, **{**DESKTOP, "locale": "en-GB", **options})
        contexts.append(context)
        context.set_default_timeout(5_000)
        context.set_default_navigation_timeout(8_000)
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        page.on("console", browser_errors.on_console)
        page.on("pageerror", browser_errors.on_page_error)
        page.on("response", browser_errors.on_response)
        return page

    try:
        yield open_page
        errors = browser_errors.take()
        assert not errors, "the browser reported errors:\n" + "\n".join(errors)
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    return new_page()


# ---- helpers -----------------------------------------------------------------------------------


def screenshot(page: Any, name: str, element: Any = None) -> Path:
    """A full-page screenshot (or one of `element`) in test-artifacts/, named after the journey."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if element is not None:
        element.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Any, email: str = MANAGER_EMAIL, password: str = PASSWORD) -> None:
    """Through the sign-in form, as a person would (found by field names: the page may be in Spanish)."""
    page.goto("/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
