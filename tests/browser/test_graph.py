"""Graph views in Chromium under the app's CSP: the profile's ego network opens lazily, draws with
cytoscape without inline script or style, and clicking a person opens them; the network page and the
community explorer fit a 390 px phone."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from crm.db import session_scope
from crm.graph import service as graph
from crm.interactions.models import Relationship
from tests.browser.conftest import PHONE, LiveServer, screenshot, sign_in
from tests.factories import make_profile

pytestmark = pytest.mark.browser


@pytest.fixture
def people(live_server: LiveServer) -> dict[str, int]:
    graph.clear_cache()
    engine = live_server.engine
    ids = {
        "ana": make_profile(engine, "Ana López", roles=["evangelist"], topics=["kubernetes"],
                            identities=[{"platform": "x", "handle": "ana", "followers": 50_000}]).id or 0,
        "bruno": make_profile(engine, "Bruno Díaz", roles=["influencer"], topics=["kubernetes"]).id or 0,
        "carla": make_profile(engine, "Carla Ruiz", roles=["moderator"], topics=["design"]).id or 0,
        "dario": make_profile(engine, "Darío Gil", topics=["design"]).id or 0,
    }
    with session_scope(engine, write=True) as session:
        session.add(Relationship(source_id=ids["ana"], target_id=ids["bruno"], kind="knows", strength=0.9))
        session.add(Relationship(source_id=ids["carla"], target_id=ids["ana"], kind="replies_to", strength=0.5,
                                 origin="interaction"))
        session.add(Relationship(source_id=ids["bruno"], target_id=ids["dario"], kind="follows", strength=0.4))
        session.add(Relationship(source_id=ids["carla"], target_id=ids["dario"], kind="colleague", strength=0.8))
    return ids


def _click_node(page: Any, canvas: Any, profile_id: int, *, touch: bool = False) -> None:
    """Click (or tap) where cytoscape drew this person (the page keeps its cytoscape instance on the container)."""
    canvas.scroll_into_view_if_needed()
    position = canvas.evaluate("(el, id) => el.cy.getElementById(String(id)).renderedPosition()", profile_id)
    box = canvas.bounding_box()
    x, y = box["x"] + position["x"], box["y"] + position["y"]
    if touch:
        page.touchscreen.tap(x, y)
    else:
        page.mouse.click(x, y)


def _fits(page: Any) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, screen.width]")
    assert width[0] <= width[1], f"the page pans sideways: {width}"


def test_profile_ego_network_draws_under_the_csp_and_opens_a_person(page: Any, people: dict[str, int]) -> None:
    sign_in(page)
    page.goto(f"/people/{people['ana']}")
    assert page.evaluate("() => typeof window.cytoscape") == "undefined"  # only loaded when opened
    page.locator("details.ego > summary").click()
    canvas = page.locator("details.ego .graph-canvas")
    expect(canvas).to_have_attribute("data-state", "ready")
    # The text alternative came with it, and cytoscape drew the three people.
    expect(page.locator("details.ego table.ego-list tbody tr")).to_have_count(2)
    assert canvas.evaluate("el => el.cy.nodes().map(n => n.id()).sort()") == sorted(
        str(people[k]) for k in ("ana", "bruno", "carla"))
    assert canvas.evaluate("el => el.cy.edges('.derived').length") == 1
    assert canvas.locator("canvas").count() >= 1
    # No <style> element was injected (the CSP would have refused it) and no inline style attribute was parsed.
    assert page.evaluate("() => document.querySelectorAll('style').length") == 0
    # Two hops, without leaving the page.
    page.locator("details.ego a[data-hops='2']").click()
    expect(page.locator("details.ego table.ego-list tbody tr")).to_have_count(3)
    canvas = page.locator("details.ego .graph-canvas")
    expect(canvas).to_have_attribute("data-state", "ready")
    assert canvas.evaluate("el => el.cy.nodes().length") == 4
    page.locator("details.ego [data-color-by='community']").click()
    expect(page.locator("details.ego [data-color-by='community']")).to_have_attribute("aria-pressed", "true")
    screenshot(page, "graph-ego-panel", page.locator("details.ego"))
    _click_node(page, canvas, people["bruno"])
    page.wait_for_url(re.compile(rf"/people/{people['bruno']}$"))
    expect(page.locator("h1")).to_contain_text("Bruno Díaz")


def test_network_page_and_explorer_on_a_phone(new_page: Callable[..., Any], people: dict[str, int]) -> None:
    page = new_page(**PHONE)
    sign_in(page)
    page.goto(f"/people/{people['ana']}/network?hops=2")
    expect(page.locator(".graph-canvas")).to_have_attribute("data-state", "ready")
    _fits(page)
    screenshot(page, "phone-en-graph-network")
    page.goto("/graph?find=carla")
    canvas = page.locator(".graph-canvas")
    expect(canvas).to_have_attribute("data-state", "ready")
    assert canvas.evaluate("el => el.cy.nodes().length") == 4
    assert canvas.evaluate("el => el.cy.$('node.focus').id()") == str(people["carla"])
    _fits(page)
    screenshot(page, "phone-en-graph-explorer")
    _click_node(page, canvas, people["carla"], touch=True)
    page.wait_for_url(re.compile(rf"/people/{people['carla']}$"))


def test_explorer_filters_in_spanish_on_a_desktop(new_page: Callable[..., Any], people: dict[str, int]) -> None:
    page = new_page(locale="es-ES")
    sign_in(page)
    page.goto("/graph")
    page.locator("select[name=role]").select_option("moderator")
    page.locator(".graph-filters button[type=submit]").click()
    page.wait_for_url(re.compile(r"/graph\?role=moderator"))
    canvas = page.locator(".graph-canvas")
    expect(canvas).to_have_attribute("data-state", "ready")
    assert canvas.evaluate("el => el.cy.nodes().map(n => n.id())") == [str(people["carla"])]
    assert page.evaluate("() => document.querySelectorAll('style').length") == 0
    screenshot(page, "desktop-es-graph-explorer")
