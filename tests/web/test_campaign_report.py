"""The campaign's deliverables, quotes and report pages (full pages and htmx fragments) and the CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlmodel import Session, select

from crm.audit.models import AuditEvent
from crm.campaigns.models import CampaignQuote
from crm.db import session_scope
from crm.interactions.models import Interaction
from crm.profiles.models import Profile
from tests.factories import soup
from tests.unit.test_campaign_report import build_campaign

HX = {"HX-Request": "true"}
ROOT = Path(__file__).resolve().parents[2]


def _deliverables(engine) -> list[Interaction]:
    with Session(engine) as s:
        return list(s.exec(select(Interaction).where(Interaction.campaign_id.is_not(None)).order_by(Interaction.id)))


# ---- deliverables ------------------------------------------------------------------------------------


def test_the_deliverables_page_lists_links_totals_and_sorts(manager_client, engine):
    ids = build_campaign(engine)
    url = f"/campaigns/{ids['campaign']}/deliverables"
    page = soup(manager_client.get(url))
    assert page.select_one("nav.campaign-tabs a[aria-current=page]")["href"] == url
    rows = page.select("table.deliverables tbody tr")
    assert len(rows) == 6  # outreach and the note are not deliverables
    assert [r.select_one("td.reach").get_text(strip=True) for r in rows][:1] == ["0"]  # newest first: the 9th
    assert page.select_one("tfoot td.reach").get_text(strip=True) == "36,500"
    assert page.select_one("tfoot td.engagements").get_text(strip=True) == "1,515"
    assert page.select_one("a[href='/imports']") is not None
    assert "campaign_id" in page.select_one(".import-hint").get_text()
    by_reach = soup(manager_client.get(url + "?sort=reach&dir=desc", headers=HX))
    assert by_reach.select_one("html") is None and by_reach.select_one("#deliverables-panel") is not None
    assert [r.select_one("td.reach").get_text(strip=True) for r in by_reach.select("tbody tr")] == [
        "20,000", "10,000", "5,000", "1,000", "500", "0"]
    head = by_reach.select_one("th a.sorted")
    assert head["aria-sort"] == "descending" and "dir=asc" in head["href"]


def test_deliverable_links_leave_safely(manager_client, engine):
    ids = build_campaign(engine)
    with session_scope(engine, write=True) as s:
        item = s.exec(select(Interaction).where(Interaction.kind == "video")).one()
        item.url = "https://example.com/v/1"
        s.add(item)
    page = soup(manager_client.get(f"/campaigns/{ids['campaign']}/deliverables"))
    link = page.select_one("a.external[href='https://example.com/v/1']")
    assert link is not None and set(link["rel"]) == {"noopener", "noreferrer"}


def test_logging_a_deliverable_as_a_fragment_and_as_a_page(manager_client, engine):
    ids = build_campaign(engine)
    url = f"/campaigns/{ids['campaign']}/deliverables"
    form = soup(manager_client.get(url)).select_one("form.deliverable-form")
    assert form["hx-post"] == url and form.select_one("input[name=csrf_token]")
    people = [o.get_text(strip=True) for o in form.select("select[name=profile_id] option") if o["value"]]
    assert people and "Eva" not in people and "Cai" not in people  # not a member; declined
    data = {"profile_id": str(ids["Ana"]), "kind": "review", "url": "https://blog.example/r", "title": "A review",
            "occurred_on": "2026-03-05", "reach": "12,000", "engagements": "340"}
    fragment = manager_client.post(url, data=data, headers=HX)
    assert fragment.status_code == 200
    panel = soup(fragment)
    assert panel.select_one("html") is None and panel.select_one(".flash-success")
    assert panel.select_one("tfoot td.reach").get_text(strip=True) == "48,500"
    plain = manager_client.post(url, data={**data, "title": "Again", "url": "https://blog.example/r2"})
    assert plain.status_code == 303 and plain.headers["location"] == url
    logged = [i for i in _deliverables(engine) if i.kind == "review"]
    assert [(i.reach, i.engagements, i.campaign_id, i.profile_id) for i in logged] == [
        (12000, 340, ids["campaign"], ids["Ana"])] * 2
    assert logged[0].occurred_at.date().isoformat() == "2026-03-05"


def test_a_refused_deliverable_keeps_what_was_typed(manager_client, engine):
    ids = build_campaign(engine)
    url = f"/campaigns/{ids['campaign']}/deliverables"
    before = len(_deliverables(engine))
    data = {"profile_id": "", "kind": "post", "url": "ftp://nope", "title": "Kept title", "occurred_on": "31/02/2026",
            "reach": "-5", "engagements": "many"}
    for headers in (HX, {}):
        response = manager_client.post(url, data=data, headers=headers)
        assert response.status_code == 422
        page = soup(response)
        for name in ("profile_id", "url", "occurred_on", "reach", "engagements"):
            assert page.select_one(f"#d-{name}-error") is not None, name
        assert page.select_one("#f-d-title")["value"] == "Kept title"
        assert page.select_one("#f-d-engagements")["value"] == "many"
        assert page.select_one("details#log-deliverable").has_attr("open")
    eva = {**data, "profile_id": str(ids["Eva"]), "url": "", "occurred_on": "", "reach": "1", "engagements": "1"}
    page = soup(manager_client.post(url, data=eva, headers=HX))
    assert "not in the campaign" in page.select_one("#d-profile_id-error").get_text()
    assert len(_deliverables(engine)) == before


def test_editing_a_deliverables_numbers(manager_client, engine):
    ids = build_campaign(engine)
    item = next(i for i in _deliverables(engine) if i.kind == "video")
    base = f"/campaigns/{ids['campaign']}/deliverables"
    fragment = soup(manager_client.get(f"{base}/{item.id}/edit", headers=HX))
    assert fragment.select_one("html") is None
    form = fragment.select_one("form.deliverable-edit-form")
    assert form["hx-post"] == f"{base}/{item.id}" and form.select_one("#f-e-reach")["value"] == "20000"
    assert soup(manager_client.get(f"{base}/{item.id}/edit")).select_one("html form.deliverable-edit-form")
    bad = manager_client.post(f"{base}/{item.id}", data={"reach": "lots", "engagements": "1"}, headers=HX)
    assert bad.status_code == 422 and soup(bad).select_one("#e-reach-error")
    ok = manager_client.post(f"{base}/{item.id}", data={"reach": "25,000", "engagements": "1200"}, headers=HX)
    assert ok.status_code == 200 and soup(ok).select_one("tfoot td.reach").get_text(strip=True) == "41,500"
    with Session(engine) as s:
        assert (s.get(Interaction, item.id).reach, s.get(Interaction, item.id).engagements) == (25000, 1200)
        audit = s.exec(select(AuditEvent).where(AuditEvent.action == "interaction.update")).all()
        assert audit and audit[-1].after["reach"] == 25000
    other = make_other_campaign_item(engine)
    assert manager_client.get(f"{base}/{other}/edit").status_code == 404


def make_other_campaign_item(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(Interaction.id).where(Interaction.campaign_id.is_(None))).first() or 999_999


def test_a_viewer_reads_but_does_not_log(viewer_client, engine):
    ids = build_campaign(engine)
    page = soup(viewer_client.get(f"/campaigns/{ids['campaign']}/deliverables"))
    assert page.select("table.deliverables tbody tr") and page.select_one("form.deliverable-form") is None
    assert page.select_one("a.edit-numbers") is None
    assert viewer_client.post(f"/campaigns/{ids['campaign']}/deliverables", data={}).status_code == 403


# ---- quotes ------------------------------------------------------------------------------------------


def test_quote_this_prefills_the_form_and_delete_removes_it(manager_client, engine):
    ids = build_campaign(engine)
    cid = ids["campaign"]
    with session_scope(engine, write=True) as s:
        item = s.exec(select(Interaction).where(Interaction.kind == "video")).one()
        item.body = "Best launch I have worked on."
        s.add(item)
        item_id = item.id
    page = soup(manager_client.get(f"/campaigns/{cid}/deliverables"))
    link = page.select_one(f"#deliverable-{item_id} a.quote-this")
    assert link["href"] == f"/campaigns/{cid}/quotes?interaction_id={item_id}#quote-form"
    form = soup(manager_client.get(f"/campaigns/{cid}/quotes?interaction_id={item_id}")).select_one("form#quote-form")
    assert form.select_one("textarea[name=text]").get_text() == "Best launch I have worked on."
    assert form.select_one("input[name=interaction_id]")["value"] == str(item_id)
    fragment = soup(manager_client.get(f"/campaigns/{cid}/quotes?interaction_id={item_id}", headers=HX))
    assert fragment.select_one("html") is None and fragment.select_one("form#quote-form")
    assert manager_client.post(f"/campaigns/{cid}/quotes", data={"text": "", "interaction_id": str(item_id)}).status_code == 422
    done = manager_client.post(f"/campaigns/{cid}/quotes", data={"text": "Best launch.", "interaction_id": str(item_id)})
    assert done.status_code == 303
    with Session(engine) as s:
        quote = s.exec(select(CampaignQuote)).one()
        assert (quote.text, quote.profile_id) == ("Best launch.", ids["Bea"])
    report_page = soup(manager_client.get(f"/campaigns/{cid}/report"))
    assert report_page.select_one(f"#quote-{quote.id} blockquote").get_text(" ", strip=True).startswith("Best launch.")
    delete = soup(manager_client.get(f"/campaigns/{cid}/quotes")).select_one(f"#quote-{quote.id} form")
    assert delete["data-confirm"] and delete["action"] == f"/campaigns/{cid}/quotes/{quote.id}/delete"
    assert manager_client.post(delete["action"], data={}).status_code == 303
    with Session(engine) as s:
        assert s.exec(select(CampaignQuote)).all() == []
    assert manager_client.post(delete["action"], data={}).status_code == 404


# ---- the report --------------------------------------------------------------------------------------


def test_the_report_page_shows_kpis_totals_chart_members_and_prints(manager_client, engine):
    ids = build_campaign(engine)
    page = soup(manager_client.get(f"/campaigns/{ids['campaign']}/report"))
    assert page.title.get_text().startswith("Report · Spring launch")
    cards = {c["class"][1]: c for c in page.select("li.kpi-card")}
    assert set(cards) == {"kpi-reach", "kpi-engagements", "kpi-signups", "kpi-contributions"}
    engagements = cards["kpi-engagements"].select_one("progress")
    assert float(engagements["value"]) == 0.5 and engagements["max"] == "1"
    assert cards["kpi-reach"].select_one(".kpi-actual").get_text(strip=True) == "36,500"
    assert page.select_one("dd.total-reach").get_text(strip=True) == "36,500"
    assert page.select_one("dd.total-rate").get_text(strip=True) == "4.15%"
    assert page.select_one("dd.total-spend").get_text(strip=True) == "1,500 EUR"
    cpe = page.select_one("dd.total-cpe")
    assert cpe.contents[0].strip() == "1.00 EUR"
    assert cpe.select_one(".fees-known").get_text() == "fees known for 2 of 2 taking part"
    assert page.select_one("dd.total-budget").get_text(" ", strip=True).startswith("50%")
    bars = page.select("svg.bars-svg rect.bar")
    assert len(bars) == 4  # four days with contributions
    counts = [r.get_text(strip=True) for r in page.select("table.series td.num")]
    assert counts == ["0", "1", "2", "1", "0", "0", "0", "0", "1", "0"]
    assert [td.get_text(strip=True) for td in page.select("#report-members td.name")] == ["Bea", "Ana", "Cai"]
    assert page.select_one("button[data-print]") is not None
    assert page.select_one("script[src='/static/js/campaign_report.js']") is not None
    assert page.select_one("link[href='/static/css/campaign_report.css']") is not None
    assert page.select_one("[style]") is None and page.select_one("[onclick]") is None
    assert {a["href"] for a in page.select(".report-head a[download]")} == {
        f"/campaigns/{ids['campaign']}/report.csv", f"/campaigns/{ids['campaign']}/report.csv?part=kpis"}


def test_every_report_column_sorts_both_ways_as_a_fragment(manager_client, engine):
    ids = build_campaign(engine)
    url = f"/campaigns/{ids['campaign']}/report"
    page = soup(manager_client.get(url))
    heads = {a.get_text(" ", strip=True).split(" ")[0]: a for a in page.select("#report-members thead a")}
    assert len(page.select("#report-members thead a")) == 8
    fee = page.select_one("#report-members th.col-fee a")
    assert fee["href"].endswith("sort=fee&dir=desc")  # amounts: biggest first
    assert page.select_one("#report-members th.col-name a")["href"].endswith("sort=name&dir=asc")
    assert heads
    fragment = soup(manager_client.get(url + "?sort=fee&dir=desc", headers=HX))
    assert fragment.select_one("html") is None and fragment.select_one("#report-members") is not None
    assert [td.get_text(strip=True) for td in fragment.select("td.name")] == ["Cai", "Ana", "Bea"]
    assert fragment.select_one("th.col-fee a.sorted")["href"].endswith("sort=fee&dir=asc")
    ascending = soup(manager_client.get(url + "?sort=fee&dir=asc", headers=HX))
    assert [td.get_text(strip=True) for td in ascending.select("td.name")] == ["Bea", "Ana", "Cai"]
    by_name = soup(manager_client.get(url + "?sort=name", headers=HX))
    assert [td.get_text(strip=True) for td in by_name.select("td.name")] == ["Ana", "Bea", "Cai"]
    nonsense = manager_client.get(url + "?sort=%3Cscript%3E&dir=sideways")
    assert nonsense.status_code == 200


def test_the_report_csv_is_formula_safe_audited_and_parses(manager_client, engine):
    ids = build_campaign(engine)
    with session_scope(engine, write=True) as s:
        ana = s.get(Profile, ids["Ana"])
        ana.display_name = "=HYPERLINK(\"http://evil\")"
        s.add(ana)
    response = manager_client.get(f"/campaigns/{ids['campaign']}/report.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["name"] for r in rows] == ["Bea", "'=HYPERLINK(\"http://evil\")", "Cai"]
    bea = rows[0]
    assert (bea["stage"], bea["fee"], bea["deliverables"], bea["reach"], bea["engagements"]) == (
        "content_live", "500.0", "2", "20000", "1000")
    assert float(bea["engagement_rate"]) == 0.05 and float(bea["cost_per_engagement"]) == 0.5
    kpis = {r["metric"]: r for r in csv.DictReader(io.StringIO(
        manager_client.get(f"/campaigns/{ids['campaign']}/report.csv?part=kpis").text))}
    assert float(kpis["engagements"]["progress"]) == 0.5 and float(kpis["total_reach"]["actual"]) == 36500
    with Session(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "campaign.export")).all()
        assert [e.after["part"] for e in events] == ["members", "kpis"]
        assert all(e.object_id == ids["campaign"] for e in events)
    assert manager_client.get("/campaigns/999999/report.csv").status_code == 404


def test_an_unknown_campaign_is_a_404_everywhere(manager_client, engine):
    for path in ("report", "deliverables", "quotes", "complete"):
        assert manager_client.get(f"/campaigns/424242/{path}").status_code == 404, path


def test_print_css_hides_the_chrome_and_fits_a4():
    css = (ROOT / "static/css/campaign_report.css").read_text()
    assert "@page { size: A4" in css
    printing = css[css.index("@media print"):]
    hidden = printing.split("{ display: none !important; }")[0]
    for selector in ("header.topbar", ".campaign-tabs", "form", "button", ".no-print", ".actions"):
        assert selector in hidden, selector
    assert 'content: " (" attr(href) ")"' in printing
    js = (ROOT / "static/js/campaign_report.js").read_text()
    assert "window.print()" in js and "[data-print]" in js


def test_the_report_in_spanish(manager_client, engine):
    ids = build_campaign(engine)
    page = soup(manager_client.get(f"/campaigns/{ids['campaign']}/report", headers={"Accept-Language": "es"}))
    assert page.html["lang"] == "es"
    assert page.select_one("dd.total-reach").get_text(strip=True) == "36.500"
