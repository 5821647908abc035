"""Every signed-in page on a 390 px phone and a 1280 px desktop, in English and Spanish: nothing pans
sideways, the navigation is reachable, focus rings can be seen and form errors are not hidden.

Screenshots land in test-artifacts/ as phone-LANG-PAGE.png and desktop-LANG-PAGE.png.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, BrowserErrors, LiveServer, screenshot, sign_in
from tests.factories import make_profile, make_user

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "admin@example.com"
LOCALES = {"en": "en-GB", "es": "es-ES"}
# The navigation, in the order it is shown: seven links, then the sign-out button.
NAV = {
    "en": ["Dashboard", "People", "Ranking", "Communities", "Campaigns", "Recognition", "Settings", "Sign out"],
    "es": ["Panel", "Personas", "Ranking", "Comunidades", "Campañas", "Reconocimiento", "Ajustes", "Cerrar sesión"],
}
PAGES = {
    "dashboard": "/",
    "people": "/people",
    "profile": "/people/{id}",
    "new-profile": "/people/new",
    "edit-profile": "/people/{id}/edit",
    "delete-profile": "/people/{id}/delete",
    "settings": "/settings",
    "audit-log": "/settings/audit",
    "campaigns": "/campaigns",
    "recognition": "/recognition",
    "communities": "/graph",
    "ranking": "/ranking",
    "weights": "/ranking/weights",
    "network": "/people/{id}/network",
    "imports": "/imports",
    "duplicates": "/people/duplicates",
    "merges": "/merges",
    "saved-views": "/people/views",
    "not-found": "/no-such-page",
}


@pytest.fixture
def person(live_server: LiveServer) -> int:
    """An admin, and a person with everything a page can show, long words included."""
    from crm.db import session_scope, utcnow
    from crm.interactions.models import Interaction, Relationship

    engine = live_server.engine
    make_user(engine, ADMIN_EMAIL, role="admin", name="Ada Administradora")
    ana = make_profile(
        engine, "María Fernanda Castellanos de la Fuente", roles=["evangelist", "employee_advocate"], language="es",
        location="San Cristóbal de La Laguna, España", topics=["developer relations", "observability"],
        bio="Habla de Python en meetups.", is_team_member=True,
        identities=[
            {"platform": "youtube", "handle": "mariafernandacastellanosdelafuente", "url": "https://www.youtube.com/@mariafernandacastellanosdelafuente",
             "followers": 1_250_000, "engagement_rate": 4.2, "verified": True},
            {"platform": "github", "handle": "mfcastellanos", "followers": 5400},
            {"platform": "linkedin", "handle": "maria-fernanda-castellanos", "followers": 12000},
            {"platform": "email", "handle": "maria.fernanda.castellanos@example.com"},
        ],
    )
    bruno = make_profile(engine, "Bruno Díaz", identities=[{"platform": "x", "handle": "brunod", "followers": 300}])
    with session_scope(engine, write=True) as session:
        session.add(Relationship(source_id=ana.id, target_id=bruno.id, kind="replies_to", strength=0.7))
        for n, kind in enumerate(["talk", "complaint", "forum_answer"]):
            session.add(Interaction(
                profile_id=ana.id, kind=kind, occurred_at=utcnow() - timedelta(days=n * 20),
                title="https://community.example.com/t/a-really-long-thread-title-without-any-spaces/12345",
                url="https://community.example.com/t/12345", reach=25_000, sentiment=-0.6 if kind == "complaint" else 0.5,
                body="Sehr lange Wörter wie Donaudampfschifffahrtsgesellschaftskapitänsmützenabzeichen brechen Zeilen.",
            ))
    assert ana.id is not None
    return ana.id


def _nav_items(page: Any, lang: str) -> list[Any]:
    header = page.locator("header.topbar")
    *links, sign_out = NAV[lang]
    return [header.get_by_role("link", name=name, exact=True) for name in links] + [
        header.get_by_role("button", name=sign_out, exact=True)
    ]


# The innermost elements that stick out past the right edge of the screen, to name them in a failure.
STICKING_OUT = """() => [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > screen.width + 1)
  .filter((e) => ![...e.children].some((c) => c.getBoundingClientRect().right > screen.width + 1))
  .slice(0, 5).map((e) => `<${e.tagName.toLowerCase()} class="${e.className}"> ${e.textContent.trim().slice(0, 50)}`)"""


def _assert_fits(page: Any, path: str) -> None:
    width, screen = page.evaluate("[document.documentElement.scrollWidth, screen.width]")
    assert width <= screen, f"{path} is {width} px wide on a {screen} px screen: {page.evaluate(STICKING_OUT)}"


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_page_fits_a_phone_and_the_menu_reaches_everything(
    new_page: Callable[..., Any], browser_errors: BrowserErrors, person: int, lang: str
) -> None:
    browser_errors.allow_status(404)
    page = new_page(**PHONE, locale=LOCALES[lang])
    sign_in(page, ADMIN_EMAIL)
    menu = page.locator("header details.menu > summary")
    for name, path in PAGES.items():
        page.goto(path.format(id=person))
        _assert_fits(page, path)
        items = _nav_items(page, lang)
        for item in items:
            expect(item).to_be_hidden()  # folded away until asked for
        screenshot(page, f"phone-{lang}-{name}")

        menu.click()
        for item in items:
            expect(item).to_be_visible()
            item.click(trial=True)  # visible, enabled, and nothing covers it
        _assert_fits(page, path)
        if name == "dashboard":
            screenshot(page, f"phone-{lang}-menu-open")
        page.keyboard.press("Escape")
        expect(items[0]).to_be_hidden()

    # And for real: one link, then signing out.
    menu.click()
    _nav_items(page, lang)[5].click()  # Recognition
    expect(page).to_have_url(re.compile(r"/recognition$"))
    menu.click()
    _nav_items(page, lang)[-1].click()
    expect(page).to_have_url(re.compile(r"/login"))


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_desktop_shows_the_navigation_without_a_menu(
    new_page: Callable[..., Any], browser_errors: BrowserErrors, person: int, lang: str
) -> None:
    browser_errors.allow_status(404)
    page = new_page(**DESKTOP, locale=LOCALES[lang])
    sign_in(page, ADMIN_EMAIL)
    for name, path in PAGES.items():
        page.goto(path.format(id=person))
        _assert_fits(page, path)
        expect(page.locator("header details.menu > summary")).to_be_hidden()
        for item in _nav_items(page, lang):
            expect(item).to_be_visible()
            item.click(trial=True)
        screenshot(page, f"desktop-{lang}-{name}")


def test_the_navigation_fits_on_one_line_from_1024_px(new_page: Callable[..., Any], person: int) -> None:
    """The narrowest screen that gets the bar instead of the menu, in the longer language."""
    page = new_page(viewport={"width": 1024, "height": 768}, locale="es-ES")
    sign_in(page, ADMIN_EMAIL)
    page.goto("/settings")
    screenshot(page, "desktop-es-1024px-settings")
    _assert_fits(page, "/settings")
    tops = [item.bounding_box()["y"] for item in _nav_items(page, "es")[:-1]]
    assert max(tops) - min(tops) < 5, f"the links wrap: their tops are at {tops}"
    header = page.locator("header.topbar").bounding_box()
    assert header["height"] < 100, header


# ---- focus rings --------------------------------------------------------------------------------


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _rgb(css: str) -> tuple[float, ...]:
    numbers = [float(n) for n in re.findall(r"[\d.]+", css)]
    assert len(numbers) == 3 or (len(numbers) == 4 and numbers[3] == 1), f"not an opaque colour: {css}"
    return tuple(numbers[:3])


# The focused element's outline, and the first opaque background behind it (the outline is drawn
# outside the element, so the background that counts is its parent's).
FOCUS_STYLE = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  let node = el.parentElement, background = "rgb(255, 255, 255)";
  for (; node; node = node.parentElement) {
    const bg = getComputedStyle(node).backgroundColor;
    if (bg !== "rgba(0, 0, 0, 0)" && bg !== "transparent") { background = bg; break; }
  }
  return {tag: el.tagName, text: (el.textContent || el.name || "").trim().slice(0, 40),
          style: style.outlineStyle, width: parseFloat(style.outlineWidth), color: style.outlineColor, background};
}"""


@pytest.mark.parametrize("path", ["/people/{id}/edit", "/settings"])
def test_focus_rings_contrast_three_to_one(new_page: Callable[..., Any], person: int, path: str) -> None:
    page = new_page()
    sign_in(page, ADMIN_EMAIL)
    page.goto(path.format(id=person))
    page.locator("body").click(position={"x": 1, "y": 1})  # start from the top, as a keyboard user would
    seen: set[str] = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_STYLE)
        if focus["tag"] == "BODY":
            break
        seen.add(focus["tag"])
        where = f"{focus['tag']} {focus['text']!r} on {path}"
        assert focus["style"] == "solid" and focus["width"] >= 2, f"{where}: outline {focus['style']} {focus['width']}px"
        ratio = _contrast(_rgb(focus["color"]), _rgb(focus["background"]))
        assert ratio >= 3, f"{where}: focus ring {focus['color']} on {focus['background']} is {ratio:.1f}:1"
    assert {"A", "BUTTON", "INPUT", "SELECT"} <= seen, seen
    if path == "/settings":
        assert "SUMMARY" in seen, seen


# ---- errors in identity rows --------------------------------------------------------------------

# Each point of the error that is not covered by something else (another element drawn on top).
UNCOVERED = """(el) => {
  const box = el.getBoundingClientRect();
  const points = [[0.1, 0.5], [0.5, 0.5], [0.9, 0.5], [0.5, 0.2], [0.5, 0.8]];
  return points.every(([fx, fy]) => {
    const hit = document.elementFromPoint(box.left + box.width * fx, box.top + box.height * fy);
    return hit === el || el.contains(hit);
  }) && el.scrollWidth <= el.clientWidth && el.scrollHeight <= el.clientHeight;
}"""


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_errors_in_identity_rows_are_fully_visible(
    new_page: Callable[..., Any], browser_errors: BrowserErrors, live_server: LiveServer, device: str
) -> None:
    browser_errors.allow_status(422)
    make_user(live_server.engine, ADMIN_EMAIL, role="admin")
    page = new_page(**(PHONE if device == "phone" else DESKTOP))
    sign_in(page, ADMIN_EMAIL)
    page.goto("/people/new")
    page.locator("#f-display_name").fill("Ana López")
    row = page.get_by_role("group", name="Identity 1", exact=True)
    # The row starts with a link that fills in the platform and handle (a link without a scheme is read
    # too), so the errors come from the other way in: a handle with the platform left on "From the link"
    # and no link, a handle of nothing but @, and a count that is not a number. One error under the
    # platform select, one under the handle, one under the followers.
    row.locator("input[name$=-handle]").fill("@")
    row.locator("input[name$=-followers]").fill("lots")
    page.locator("#profile-form button[type=submit]").click()

    errors = page.get_by_role("group", name="Identity 1", exact=True).locator(".field-error")
    expect(errors).to_have_count(3)
    expect(errors.first).to_contain_text("Choose the platform")
    for error in errors.all():
        error.scroll_into_view_if_needed()
        assert error.evaluate(UNCOVERED), f"the error {error.inner_text()!r} is covered or cut off"
        field = error.locator("xpath=preceding-sibling::*[self::input or self::select]")
        assert error.bounding_box()["y"] >= field.bounding_box()["y"] + field.bounding_box()["height"] - 1
    screenshot(page, f"{device}-identity-errors", page.locator("#identities"))
