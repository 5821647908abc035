"""The leaderboard page (/ranking): order, filters, pages, side panels, empty states, "recompute now"
with its status block, and the CSV export, on a community whose answers are known
(tests/ranking_boards_community.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEvent
from crm.db import session_scope
from crm.jobs import service as jobs
from crm.jobs.models import Job
from crm.ranking import service
from tests import ranking_boards_community as community
from tests.factories import csrf_token, make_profile, soup

HX = {"HX-Request": "true"}


@pytest.fixture
def settings(settings):
    """No in-process worker: a queued recompute stays queued until a test runs it."""
    return settings.model_copy(update={"job_worker": False})


@pytest.fixture
def people(engine):
    ids = community.build(engine)
    community.compute_with_history(engine)
    return ids


def _names(page) -> list[str]:
    return [a.get_text(strip=True) for a in page.select("table.board-table tbody td.person a")]


def _column(page, col: str) -> list[str]:
    return [td.get_text(strip=True) for td in page.select(f"table.board-table tbody td[data-col={col}]")]


def _rank_jobs(engine) -> list[Job]:
    with session_scope(engine) as session:
        return jobs.list_jobs(session=session, kind="rank")


def _audit(engine, action: str) -> list[AuditEvent]:
    with session_scope(engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def test_the_overall_board_orders_by_score_and_leaves_the_team_out(viewer_client, people):
    page = soup(viewer_client.get("/ranking"))
    assert page.title.get_text() == "Ranking · Altavoz"
    assert _names(page) == community.ORDER
    # Percentiles among the five (Eva is scored, not ranked): Ana is above three of four in reach and
    # in advocacy, and influence is the same for all: 100 × (0.3 × 3/4 + 0.5 × 3/4) = 60.
    assert _column(page, "score") == ["60.0", "40.0", "20.0", "0.0"]
    assert _column(page, "level") == ["Champion", "Advocate", "Contributor", "Observer"]
    assert _column(page, "advocacy") == ["63.0", "40.0", "8.9", "0.0"]
    assert _column(page, "reach") == ["50K", "20K", "5K", "0"]
    assert _column(page, "influence") == ["1.00"] * 4  # nobody is connected: everyone is average
    assert [td.get_text(strip=True) for td in page.select("td.position")] == ["1", "2", "3", "4"]
    links = [a["href"] for a in page.select("td.person a")]
    assert links == [f"/people/{people[name]}" for name in community.ORDER]
    meta = page.select_one(".board-meta").get_text(" ", strip=True)
    assert meta.startswith("Computed ") and "with weights version 1" in meta and "· 4 people" in meta
    assert page.select_one("th[data-col=period]") is None  # no period column on the overall board
    assert page.select_one(".mainnav a[href='/ranking'][aria-current=page]") is not None
    assert page.select_one(".page-head a[href='/ranking/weights']") is not None
    assert page.select_one(".page-head form[action='/ranking/recompute']") is None  # viewers cannot recompute


def test_team_members_are_included_on_request(viewer_client, people):
    page = soup(viewer_client.get("/ranking?include_team=true"))
    assert _names(page) == ["Eva", *community.ORDER]
    eva = page.select("#board tbody tr")[0]
    assert eva.select_one(".chip.team") is not None
    assert page.select_one("input[name=include_team]").has_attr("checked")


def test_period_boards_rank_by_advocacy_in_the_period(viewer_client, people):
    page = soup(viewer_client.get("/ranking?period=30"))
    assert _names(page) == ["Ana", "Bruno"]  # Carla did nothing in 30 days; nor did Dani
    assert _column(page, "period") == ["63.0", "8.9"]
    assert page.select_one("thead").get_text(" ", strip=True).count("Advocacy in the period") == 1
    assert page.select_one("#b-period option[selected]")["value"] == "30"
    year = soup(viewer_client.get("/ranking?period=365"))
    assert _names(year) == ["Ana", "Carla", "Bruno"]


@pytest.mark.parametrize(("query", "expected"), [
    ("role=evangelist", ["Bruno"]),
    ("role=evangelist&include_team=true", ["Eva", "Bruno"]),
    ("topic=kubernetes", ["Ana", "Bruno"]),
    ("topic=python", ["Bruno"]),
    ("platform=youtube", ["Carla"]),
    ("platform=x&include_team=true", ["Eva", "Ana"]),
    ("topic=kubernetes&period=30&role=influencer", ["Ana"]),
])
def test_filters_by_role_topic_and_platform(viewer_client, people, query, expected):
    assert _names(soup(viewer_client.get(f"/ranking?{query}"))) == expected


def test_filter_form_keeps_the_values_and_bad_values_fall_back(viewer_client, people):
    page = soup(viewer_client.get("/ranking?role=evangelist&topic=python&platform=github&period=90"))
    form = page.select_one("search form#board-filters")
    assert form["hx-get"] == "/ranking" and form["hx-target"] == "#board" and form["hx-push-url"] == "true"
    assert form.select_one("#b-role option[selected]")["value"] == "evangelist"
    assert form.select_one("#b-platform option[selected]")["value"] == "github"
    assert form.select_one("#b-topic")["value"] == "python"
    assert form.select_one("#b-period option[selected]")["value"] == "90"
    # A hand-edited URL shows the board without the bad values rather than an error.
    response = viewer_client.get("/ranking?role=wizard&period=7&page=zero&per_page=9999")
    assert response.status_code == 200
    assert _names(soup(response)) == community.ORDER


def test_htmx_gets_only_the_board_block_and_a_browser_gets_the_page(viewer_client, people):
    response = viewer_client.get("/ranking?period=30", headers=HX)
    assert response.status_code == 200 and response.headers["vary"] == "HX-Request"
    fragment = soup(response)
    assert fragment.select_one("form#board-filters") is None and fragment.select_one("aside") is None
    assert fragment.select_one("title").get_text() == "Ranking · Altavoz"
    assert _names(fragment) == ["Ana", "Bruno"]
    # The hidden reloader follows the filters, so a finished recompute reloads this very board.
    reloader = fragment.select_one(".board-reload")
    assert reloader["hx-get"] == "/ranking?period=30" and reloader["hx-trigger"] == "rank-recomputed from:body"
    full = soup(viewer_client.get("/ranking?period=30"))
    assert full.select_one("form#board-filters") is not None and full.select_one("aside #rising") is not None
    assert _names(full) == ["Ana", "Bruno"]


def test_pages_of_the_board(viewer_client, engine):
    community.build(engine, fillers=12)  # 16 people who are not on the team; 10 a page in tests
    service.recompute(engine, trigger="test")
    first = soup(viewer_client.get("/ranking"))
    assert _names(first)[:4] == community.ORDER and len(_names(first)) == 10
    assert first.select_one(".pagination").get_text(" ", strip=True).startswith("Page 1 of 2")
    assert first.select_one(".pagination a[rel=prev]") is None
    next_link = first.select_one(".pagination a[rel=next]")
    assert next_link["href"] == "/ranking?page=2" and next_link["hx-target"] == "#board"
    second = soup(viewer_client.get(next_link["href"], headers=HX))
    assert _names(second) == [f"Filler {n:02d}" for n in range(7, 13)]
    assert [td.get_text(strip=True) for td in second.select("td.position")] == [str(n) for n in range(11, 17)]
    assert second.select_one(".pagination a[rel=prev]")["href"] == "/ranking"
    # Filters travel in the page links; a page past the end shows the last one.
    filtered = soup(viewer_client.get("/ranking?period=365&include_team=true"))
    assert filtered.select_one(".pagination") is None
    past = soup(viewer_client.get("/ranking?page=99"))
    assert _names(past)[0] == "Filler 07"
    team = soup(viewer_client.get("/ranking?include_team=true&topic=kubernetes&page=1"))
    assert parse_qs(urlsplit(team.select_one(".board-meta a[download]")["href"]).query) == {
        "topic": ["kubernetes"], "include_team": ["true"]}


def test_rising_and_slipping_panels(viewer_client, people):
    page = soup(viewer_client.get("/ranking"))
    rising = page.select("#rising ol.movers li")
    assert [li.select_one("a").get_text(strip=True) for li in rising] == ["Ana", "Bruno"]  # Eva: team
    ana = rising[0].select_one(".move").get_text(" ", strip=True)
    assert ana == "score 22.5 → to 60.0 ▲ +37.5"  # forty days ago her talks had not happened: reach only
    assert rising[0].select_one(".delta.up") is not None
    slipping = page.select("#slipping ol.movers li")
    assert [li.select_one("a").get_text(strip=True) for li in slipping] == ["Carla"]
    carla = slipping[0]
    assert carla.select_one(".level").get_text(strip=True) == "Advocate"
    assert "46.0" in carla.get_text(" ", strip=True) and "40.0" in carla.get_text(" ", strip=True)
    assert carla.select_one(".delta.down").get_text(strip=True) == "▼ −5.9"


def test_before_the_first_computation(manager_client, engine):
    make_profile(engine, "Ana")
    page = soup(manager_client.get("/ranking"))
    empty = page.select_one("#board .empty-state")
    assert empty.select_one("h2").get_text(strip=True) == "Scores have not been computed yet"
    form = empty.select_one("form[action='/ranking/recompute']")
    assert form["method"] == "post" and form["hx-post"] == "/ranking/recompute" and form["hx-target"] == "#rank-status"
    assert form.select_one("input[name=csrf_token]")["value"]
    assert page.select_one("table.board-table") is None and page.select_one(".board-meta") is None
    assert page.select_one("#rising .empty-state") is not None and page.select_one("#slipping .empty-state") is not None
    # The export is a header and nothing else.
    assert manager_client.get("/ranking/export.csv").text.splitlines() == [",".join(
        ["position", "id", "name", "roles", "team_member", "level", "score", "rank", "reach", "advocacy", "influence"])]


def test_before_the_first_computation_viewers_get_no_button(viewer_client, engine):
    page = soup(viewer_client.get("/ranking"))
    assert page.select_one("#board .empty-state h2") is not None
    assert page.select_one("form[action='/ranking/recompute']") is None


def test_a_filter_with_nobody_says_so(viewer_client, people):
    page = soup(viewer_client.get("/ranking?topic=cobol"))
    empty = page.select_one("#board .empty-state")
    assert empty.select_one("h2").get_text(strip=True) == "Nobody on this board"
    assert empty.select_one("a[href='/ranking']") is not None
    assert "· 0 people" in page.select_one(".board-meta").get_text(" ", strip=True)
    assert page.select_one(".board-meta a") is None  # nothing to export
    period = soup(viewer_client.get("/ranking?period=30&role=moderator"))
    assert "contributed in this period" in period.select_one("#board .empty-state").get_text(" ", strip=True)


def test_recompute_queues_one_job_however_often_it_is_asked(manager_client, engine, people):
    token = csrf_token(manager_client, "/ranking")
    first = manager_client.post("/ranking/recompute", data={"csrf_token": token})
    assert first.status_code == 303 and first.headers["location"] == "/ranking"
    second = manager_client.post("/ranking/recompute", data={"csrf_token": token})
    assert second.status_code == 303
    (job,) = _rank_jobs(engine)
    assert job.status == "queued" and job.params == {"reason": "manual"} and job.created_by_id is not None
    (event,) = _audit(engine, "weights.recompute")  # the second click changed nothing, so it is not audited
    assert event.object_type == "score" and event.object_id is None and event.after == {"job": job.id, "reason": "manual"}
    # The page shows the waiting job, polling it.
    page = soup(manager_client.get("/ranking"))
    status = page.select_one("#rank-status .rank-job")
    assert status["data-status"] == "queued" and status["data-job"] == str(job.id)
    assert status["hx-get"] == f"/ranking/jobs/{job.id}" and status["hx-trigger"] == "every 1s"
    assert page.select_one(".page-head form[action='/ranking/recompute'] input[name=csrf_token]") is not None
    # htmx: the status block, with the same waiting job.
    again = manager_client.post("/ranking/recompute", headers=HX)
    assert again.status_code == 200
    block = soup(again)
    assert block.select_one("form") is None and block.select_one(".rank-job")["data-job"] == str(job.id)
    assert len(_rank_jobs(engine)) == 1


def test_the_status_block_follows_the_job_until_it_is_done(manager_client, engine, people):
    response = manager_client.post("/ranking/recompute", headers=HX)
    job_id = soup(response).select_one(".rank-job")["data-job"]
    queued = manager_client.get(f"/ranking/jobs/{job_id}", headers=HX)
    assert soup(queued).select_one(".rank-job")["hx-trigger"] == "every 1s" and "hx-trigger" not in queued.headers
    jobs.run_pending(engine)
    done = manager_client.get(f"/ranking/jobs/{job_id}", headers=HX)
    block = soup(done).select_one(".rank-job")
    assert block["data-status"] == "done" and not block.has_attr("hx-trigger")  # polling stops
    assert block.select_one(".rank-done") is not None and "4 people" not in block.get_text()  # Eva counts: 5
    assert "5 people" in block.get_text(" ", strip=True)
    assert done.headers["hx-trigger"] == "rank-recomputed"  # the board reloads itself
    assert soup(done).select_one("title") is None
    full = manager_client.get(f"/ranking/jobs/{job_id}")
    assert "hx-trigger" not in full.headers
    page = soup(full)
    assert page.title.get_text() == "Recompute scores · Altavoz" and page.select_one("#rank-status .rank-done")
    assert page.select_one(".rank-done a[href='/ranking']") is not None  # the fragment needs no link: the board reloads
    assert block.select_one("a") is None
    # A new run: the page no longer shows a job, and a new click queues a new one.
    assert soup(manager_client.get("/ranking")).select_one("#rank-status .rank-job") is None
    manager_client.post("/ranking/recompute", headers=HX)
    assert [j.status for j in _rank_jobs(engine)] == ["queued", "done"]


def test_recompute_is_for_writers(viewer_client, engine, people):
    response = viewer_client.post("/ranking/recompute", data={"csrf_token": csrf_token(viewer_client, "/ranking")})
    assert response.status_code == 403
    assert _rank_jobs(engine) == [] and _audit(engine, "weights.recompute") == []


def test_an_unknown_or_foreign_job_is_not_found(manager_client, engine, people):
    assert manager_client.get("/ranking/jobs/999").status_code == 404
    with session_scope(engine, write=True) as session:
        other = jobs.enqueue("import", {}, session=session, title="An import")
        other_id = other.id
    assert manager_client.get(f"/ranking/jobs/{other_id}").status_code == 404


def _csv(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text)))


def test_csv_export_has_every_row_of_the_board(viewer_client, engine, people):
    for n in range(12):  # more than a page
        make_profile(engine, f"Zed {n:02d}")
    service.recompute(engine, trigger="test")
    response = viewer_client.get("/ranking/export.csv?include_team=true")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="leaderboard.csv"'
    assert response.headers["cache-control"] == "no-store"
    rows = _csv(response)
    assert len(rows) == 17
    assert [r["name"] for r in rows[:5]] == ["Eva", *community.ORDER]
    assert [r["position"] for r in rows] == [str(n) for n in range(1, 18)]
    on_pages = [*_names(soup(viewer_client.get("/ranking?include_team=true"))),
                *_names(soup(viewer_client.get("/ranking?include_team=true&page=2")))]
    assert [r["name"] for r in rows] == on_pages  # the order of the board's pages
    eva, ana = rows[0], rows[1]
    assert eva["team_member"] == "true" and eva["rank"] == "" and eva["level"] == "champion"
    assert ana["id"] == str(people["Ana"]) and ana["rank"] == "1" and ana["roles"] == "influencer"
    assert float(ana["score"]) > float(rows[2]["score"]) and ana["reach"] == "50000"
    (event,) = _audit(engine, "export.list")
    assert event.object_type == "leaderboard" and event.after["count"] == 17
    assert event.after["board"] == {"include_team": True} and event.after["format"] == "csv"


def test_csv_export_of_a_period_board_with_filters(viewer_client, engine, people):
    response = viewer_client.get("/ranking/export.csv?period=30&topic=kubernetes&role=evangelist")
    assert response.headers["content-disposition"] == 'attachment; filename="leaderboard-evangelist-30d.csv"'
    rows = _csv(response)
    assert [r["name"] for r in rows] == ["Bruno"]
    assert list(rows[0])[-1] == "advocacy_30d" and float(rows[0]["advocacy_30d"]) == pytest.approx(8.94, abs=0.01)
    # The page's export link carries the same filters.
    page = soup(viewer_client.get("/ranking?period=30&topic=kubernetes&role=evangelist&page=1"))
    link = page.select_one(".board-meta a[download]")["href"]
    assert urlsplit(link).path == "/ranking/export.csv"
    assert parse_qs(urlsplit(link).query) == {"role": ["evangelist"], "topic": ["kubernetes"], "period": ["30"]}


def test_csv_export_is_formula_safe(viewer_client, engine):
    evil = make_profile(engine, "=HYPERLINK(\"http://evil.example\")",
                        identities=[{"platform": "x", "handle": "evil", "followers": 10}])
    make_profile(engine, "@home")
    service.recompute(engine, trigger="test")
    rows = {r["id"]: r for r in _csv(viewer_client.get("/ranking/export.csv"))}
    assert rows[str(evil.id)]["name"] == "'=HYPERLINK(\"http://evil.example\")"
    assert sorted(r["name"] for r in rows.values()) == ["'=HYPERLINK(\"http://evil.example\")", "'@home"]


def test_the_navigation_links_the_ranking(viewer_client):
    page = soup(viewer_client.get("/"))
    assert page.select_one(".mainnav a[href='/ranking']").get_text(strip=True) == "Ranking"
    assert page.select_one(".mainnav a[href='/ranking']").get("aria-current") is None


def test_numbers_are_written_for_the_locale(viewer_client, people):
    page = soup(viewer_client.get("/ranking", headers={"Accept-Language": "es-ES"}))
    assert page.html["lang"] == "es"
    assert _column(page, "score") == ["60,0", "40,0", "20,0", "0,0"]
    assert _column(page, "influence") == ["1,00"] * 4

