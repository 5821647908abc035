"""The crisis radar page (/listening) and its dashboard widget, as full pages and as htmx fragments."""

from __future__ import annotations

from sqlalchemy import Engine
from starlette.testclient import TestClient

from crm.listening import radar
from tests.factories import soup
from tests.unit.test_radar import build_scene, topic

HX = {"HX-Request": "true"}


def _rows(page) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(tr["data-interaction"]) for tr in page.select("#radar-list tbody tr")]


def test_radar_page_orders_and_explains(viewer_client: TestClient, engine: Engine) -> None:
    s = build_scene(engine)
    response = viewer_client.get(f"/listening?topic={s.topics['dashboard']}")
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("title") and "Crisis radar" in page.select_one("title").text
    assert page.select_one('.listening-tabs a[aria-current="page"]')["href"] == "/listening"
    rows = _rows(page)
    assert rows.index(s.said["carmen"]) < rows.index(s.said["sam"])
    carmen = page.select_one(f'tr[data-interaction="{s.said["carmen"]}"]')
    assert carmen["data-standing"] == "champion"
    assert carmen.select_one(".priority").text.strip() == "7.74"
    assert "champion: level 1" in carmen.select_one(".factors .reason").text
    assert "audience 2K" in carmen.select_one(".factors .reach").text
    assert carmen.select_one("a[href^='/people/']")["href"] == f"/people/{s.people['carmen']}"
    assert carmen.select_one(".row-signal") is None  # viewers cannot open signals: no link that ends in a 403
    dora = page.select_one(f'tr[data-interaction="{s.said["dora"]}"]')
    assert "long-time detractor: mean sentiment -0.6 over 4 earlier interactions" in dora.select_one(".reason").text
    estimated = page.select_one(f'tr[data-interaction="{s.said["estimated"]}"]')
    assert estimated.select_one(".negativity .sentiment-estimated") is not None
    assert carmen.select_one(".sentiment-estimated") is None
    assert "log10" in page.select_one(".radar-legend code").text
    # the filter form: live, with hx-sync, keeps the chosen topic
    form = page.select_one("form#radar-filters")
    assert form["hx-sync"] == "this:replace" and form["hx-target"] == "#radar-results"
    assert page.select_one("#radar-topic option[selected]")["value"] == str(s.topics["dashboard"])
    assert page.select_one('input[name=window][value="7d"]').has_attr("checked")


def test_radar_fragment_for_filter_changes(viewer_client: TestClient, engine: Engine) -> None:
    s = build_scene(engine)
    response = viewer_client.get("/listening?window=24h", headers=HX)
    assert response.status_code == 200 and response.headers["vary"] == "HX-Request"
    page = soup(response)
    assert page.select_one("html") is None and page.select_one("form#radar-filters") is None
    assert sorted(_rows(page)) == sorted(s.said[k] for k in ("complaint", "b1", "b2", "b3", "b4"))
    channel = soup(viewer_client.get("/listening?channel=youtube", headers=HX))
    assert _rows(channel) == [s.said["sam"]]


def test_bursts_with_who_is_talking_above_the_list(viewer_client: TestClient, engine: Engine) -> None:
    s = build_scene(engine)
    page = soup(viewer_client.get("/listening"))
    # the page answers with the ranked list; a placeholder after it loads the bursts and tone changes
    placeholder = page.select_one("#radar-extra[hx-get]")
    assert placeholder is not None and placeholder["hx-trigger"] == "load"
    assert str(page).index("radar-list") < str(page).index("radar-extra")  # the list first, on a phone too
    assert page.select_one("#radar-bursts") is None
    page = soup(viewer_client.get(placeholder["hx-get"], headers=HX))
    assert page.select_one("html") is None  # a fragment
    assert soup(viewer_client.get(placeholder["hx-get"])).select_one("#radar-bursts") is not None  # or a full page
    bursts = page.select("#radar-bursts .radar-burst")
    assert len(bursts) == 1 and bursts[0]["data-topic"] == str(s.topics["billing"])
    assert "4 mentions" in bursts[0].select_one(".burst-count").text
    speakers = [int(li["data-profile"]) for li in bursts[0].select(".burst-speakers li")]
    assert speakers == [s.people["sam"], s.people["carmen"], s.people["eva"]]
    assert bursts[0].select_one("a.burst-signal") is None  # a viewer: no link to a form they cannot use
    assert radar.signal_url([s.said[k] for k in ("b1", "b2")]) == f"/signals/new?interaction_ids={s.said['b1']},{s.said['b2']}"


def test_people_whose_tone_changed(viewer_client: TestClient, engine: Engine) -> None:
    from datetime import timedelta

    from crm.db import utcnow
    from tests.unit.test_radar import person, say

    t = topic(engine, "Anything")
    quinn = person(engine, "Quinn Quiet")
    now = utcnow()
    for d in (30, 60, 90, 120, 150, 170):
        say(engine, quinn, now - timedelta(days=d), topics=[], sentiment=None)
    for h in (10, 20, 30):
        say(engine, quinn, now - timedelta(hours=h), topics=[t], sentiment=None, kind="complaint")
    page = soup(viewer_client.get("/listening/extra"))
    item = page.select_one(f'#radar-tone li[data-profile="{quinn}"]')
    assert item is not None and "tone-quiet" in item["class"]
    assert "3 complaints in the window; 6 interactions" in item.select_one(".tone-numbers").text
    assert len(_rows(soup(viewer_client.get("/listening")))) == 3
    day = soup(viewer_client.get("/listening?window=24h", headers=HX)).select_one("#radar-extra")["hx-get"]
    assert "window=24h" in day
    assert soup(viewer_client.get(day, headers=HX)).select_one("#radar-tone") is None  # 2 only


def test_pagination_links_keep_the_filters(manager_client: TestClient, engine: Engine) -> None:
    from datetime import timedelta

    from crm.db import utcnow
    from tests.unit.test_radar import person, say

    t = topic(engine, "Busy")
    who = person(engine, "Many Posts")
    now = utcnow()
    for i in range(30):
        say(engine, who, now - timedelta(hours=i * 7 % 150 + 1), topics=[t], sentiment=-0.5)
    page = soup(manager_client.get(f"/listening?topic={t}"))
    assert len(_rows(page)) == 25
    nxt = page.select_one(".pagination a[rel=next]")
    assert nxt["href"] == f"/listening?topic={t}&page=2" and nxt["hx-target"] == "#radar-results"
    second = soup(manager_client.get(nxt["href"], headers=HX))
    assert len(_rows(second)) == 5
    assert second.select_one(".pagination a[rel=prev]") is not None


def test_radar_without_topics_says_set_up_listening(viewer_client: TestClient) -> None:
    page = soup(viewer_client.get("/listening"))
    assert page.select_one(".radar-setup a")["href"] == "/listening/topics"
    assert page.select_one("form#radar-filters") is None
    fragment = soup(viewer_client.get("/listening", headers=HX))
    assert fragment.select_one(".radar-setup a")["href"] == "/listening/topics"


def test_bad_query_values_fall_back(viewer_client: TestClient, engine: Engine) -> None:
    build_scene(engine)
    page = soup(viewer_client.get("/listening?window=9y&topic=abc&page=-3&channel=" + "x" * 50))
    assert page.select_one('input[name=window][value="7d"]').has_attr("checked")
    assert len(_rows(page)) == 10


def test_radar_needs_sign_in(client: TestClient) -> None:
    assert client.get("/listening").status_code in (302, 303)
    assert client.get("/listening/widget").status_code in (302, 303)


# ---- the dashboard widget -------------------------------------------------------------------------------


def test_dashboard_loads_the_widget(viewer_client: TestClient) -> None:
    page = soup(viewer_client.get("/"))
    loader = page.select_one("#radar-widget")
    assert loader["hx-get"] == "/listening/widget" and loader["hx-trigger"] == "load"
    html = str(page)
    assert html.index('id="thank-queue"') < html.index('id="radar-widget"')


def test_widget_fragment_top_five(viewer_client: TestClient, engine: Engine) -> None:
    s = build_scene(engine)
    response = viewer_client.get("/listening/widget", headers=HX)
    assert response.status_code == 200
    widget = soup(response)
    assert widget.select_one("html") is None
    items = [int(li["data-interaction"]) for li in widget.select("#radar-widget .radar-widget-list li")]
    assert len(items) == 5 and items[:2] == [s.said["carmen"], s.said["b2"]]
    first = widget.select_one(".radar-widget-list li")
    assert first.select_one("a")["href"] == f"/people/{s.people['carmen']}"
    assert "reach 2K" in first.select_one("small.muted").text
    assert widget.select_one(".widget-more a")["href"] == "/listening"


def test_widget_full_page_and_empty_states(viewer_client: TestClient, engine: Engine) -> None:
    none = soup(viewer_client.get("/listening/widget"))
    assert none.select_one("html") is not None  # a whole page without htmx
    assert none.select_one("#radar-widget .empty-state a")["href"] == "/listening/topics"
    assert none.select_one(".radar-widget-list") is None
    topic(engine, "Quiet")
    empty = soup(viewer_client.get("/listening/widget", headers=HX))
    assert "No negative mention" in empty.select_one("#radar-widget .empty-state").text
    assert empty.select_one("a[href='/listening/topics']") is None
