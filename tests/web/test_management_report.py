"""The report for management as pages: full page and htmx fragments, the judgement edited in place,
the quote picker, recipients, the print view and the CSV, and what a viewer may not do."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import delete
from sqlmodel import Session, select

from crm.audit.models import AuditEvent
from crm.db import session_scope
from crm.interactions.models import Interaction
from crm.listening import report
from crm.listening.models import ManagementReport, ReportRecipient
from tests.factories import soup
from tests.unit.test_management_report import ACTOR, MARCH, build

HX = {"HX-Request": "true"}
URL = "/listening/report?period=month&start=2026-03"
FORM = {"period": "month", "start": "2026-03"}
ROOT = Path(__file__).resolve().parents[2]


def _pick(engine, ids: list[int], judgement: str | None = None) -> None:
    with session_scope(engine, write=True) as s:
        report.update(MARCH, report.ReportIn(quote_ids=ids, judgement=judgement), session=s, actor=ACTOR)


def _cell(page, channel: str, key: str) -> str:
    return page.select_one(f"tr[data-channel='{channel}'] td.metric-{key} .value").get_text(strip=True)


def test_the_page_shows_the_numbers_drivers_and_notes(manager_client, engine):
    build(engine)
    page = soup(manager_client.get(URL))
    assert page.select_one("title").get_text().startswith("Report for management · March 2026")
    assert page.select_one("nav.listening-tabs a[aria-current=page]")["href"] == "/listening/report"
    assert page.select_one(".report-period-label").get_text(strip=True) == "March 2026"
    assert _cell(page, "all", "mentions") == "6" and _cell(page, "all", "reach") == "14,750"
    assert _cell(page, "all", "balance") == "40%" and _cell(page, "all", "share_of_voice") == "71%"
    assert _cell(page, "reddit", "mentions") == "3" and _cell(page, "discourse", "people") == "1"
    up = page.select_one("tr[data-channel='all'] td.metric-mentions .delta")
    assert "up" in up["class"] and up.get_text(strip=True) == "▲ 200%"
    assert "down" in page.select_one("tr[data-channel='all'] td.metric-balance .delta")["class"]
    notes = page.select_one(".report-notes").get_text(" ", strip=True)
    assert "once, even when it matches several topics" in notes
    assert "1 of the 5 labels this period were estimated" in notes
    topics = page.select("table.drivers-topics tbody tr")
    assert [t.select_one("td.name").get_text(" ", strip=True) for t in topics][0].startswith("Acme")
    assert page.select_one("table.drivers-people-reach tbody tr td.name a")["href"].startswith("/people/")
    assert page.select_one(".report-prev")["href"] == "/listening/report?period=month&start=2026-02"
    assert page.select_one(".csv-link")["href"] == "/listening/report.csv?period=month&start=2026-03"
    assert page.select_one("details.quote-picker form input[name=csrf_token]")
    assert page.select_one("#recipients form.recipient-form")
    assert page.select_one("a.edit-judgement")["hx-get"] == "/listening/report/judgement?period=month&start=2026-03"
    assert page.select_one(".signals-opened").get_text(strip=True) == "0"


def test_moving_between_periods_swaps_the_report_body(manager_client, engine):
    build(engine)
    fragment = soup(manager_client.get("/listening/report?period=month&start=2026-02-14", headers=HX))
    assert fragment.select_one("html") is None and fragment.select_one("nav.listening-tabs") is None
    body = fragment.select_one("#report-body")
    assert body is not None and fragment.select_one(".report-period-label").get_text(strip=True) == "February 2026"
    # nothing in January: every change is "—"
    assert {d.get_text(strip=True) for d in fragment.select("tr[data-channel='all'] .delta")} == {"—"}
    quarter = soup(manager_client.get("/listening/report?period=quarter&start=2026-01"))
    assert quarter.select_one(".report-period-label").get_text(strip=True) == "Q1 2026"
    assert _cell(quarter, "all", "mentions") == "8"
    # a hand-edited URL still shows a report (the last complete month)
    assert manager_client.get("/listening/report?period=week&start=nope").status_code == 200


def test_channels_beyond_six_fold_away_on_the_page_but_print(manager_client, engine):
    ids = build(engine)
    from tests.unit.test_management_report import _log, at
    with session_scope(engine, write=True) as s:
        for channel in ("blog", "forum", "press", "tiktok", "email"):
            _log(s, ids["ana"], channel=channel, body="acme again", occurred_at=at("2026-03-20"))
    page = soup(manager_client.get(URL))
    assert len(page.select("table.report-headline-table")[0].select("tbody tr")) == 7  # the total and six channels
    folded = page.select("details.more-channels tbody tr")
    assert len(folded) == 3 and "3 more channels" in page.select_one("details.more-channels summary").get_text()
    printed = soup(manager_client.get("/listening/report/print?period=month&start=2026-03"))
    assert len(printed.select("table.report-headline-table tbody tr")) == 10


def test_share_of_voice_is_left_out_without_competitors(viewer_client, engine):
    build(engine, competitor=False)
    page = soup(viewer_client.get(URL))
    assert page.select_one("td.metric-share_of_voice") is None
    assert page.select_one(".report-notes .no-sov")


def test_a_viewer_reads_but_cannot_change(viewer_client, engine):
    ids = build(engine)
    page = soup(viewer_client.get(URL))
    assert page.select_one("tr[data-channel='all']") is not None
    assert page.select_one("details.quote-picker") is None and page.select_one("#recipients") is None
    assert page.select_one("a.edit-judgement") is None
    assert viewer_client.get("/listening/report/judgement?period=month&start=2026-03").status_code == 403
    for path, data in (("/listening/report/judgement", {**FORM, "judgement": "Mine"}),
                       ("/listening/report/quotes", {**FORM, "quote_id": str(ids["love"])}),
                       ("/listening/report/recipients", {**FORM, "email": "x@example.com"}),
                       ("/listening/report/recipients/1/delete", FORM)):
        assert viewer_client.post(path, data=data).status_code == 403, path
    with Session(engine) as s:
        assert s.exec(select(ManagementReport)).first() is None and s.exec(select(ReportRecipient)).first() is None


def test_the_judgement_is_edited_in_place(manager_client, engine):
    build(engine)
    edit = soup(manager_client.get("/listening/report/judgement?period=month&start=2026-03", headers=HX))
    assert edit.select_one("html") is None
    form = edit.select_one("section#judgement form.judgement-form")
    assert form["hx-post"] == "/listening/report/judgement" and form["hx-target"] == "#judgement"
    assert form.select_one("input[name=start]")["value"] == "2026-03"
    assert soup(manager_client.get("/listening/report/judgement?period=month&start=2026-03")).select_one(
        "html section#judgement form.judgement-form")
    saved = manager_client.post("/listening/report/judgement", data={**FORM, "judgement": "Rocket complaints doubled."},
                                headers=HX)
    assert saved.status_code == 200
    fragment = soup(saved)
    assert fragment.select_one("html") is None
    assert fragment.select_one("section#judgement .judgement-text strong").get_text() == "Rocket complaints doubled."
    too_long = "z" * 301
    for headers in (HX, {}):
        refused = manager_client.post("/listening/report/judgement", data={**FORM, "judgement": too_long}, headers=headers)
        assert refused.status_code == 422
        page = soup(refused)
        assert page.select_one("#judgement-error").get_text() == "Use at most 300 characters."
        assert page.select_one("#f-judgement")["value"] == too_long
    for bad in ({"period": "week", "start": "2026-03"}, {"period": "month", "start": ""}):
        assert manager_client.post("/listening/report/judgement", data={**bad, "judgement": "Lost?"}).status_code == 422
    plain = manager_client.post("/listening/report/judgement", data={**FORM, "judgement": "Calmer."})
    assert plain.status_code == 303 and plain.headers["location"] == URL
    assert soup(manager_client.get(URL)).select_one(".judgement-text strong").get_text() == "Calmer."
    with Session(engine) as s:
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "report.update")).all()) == 2


def test_picking_quotes_keeps_the_order_and_hides_names_without_consent(manager_client, engine):
    ids = build(engine)
    page = soup(manager_client.get(URL))
    offered = [int(box["value"]) for box in page.select("details.quote-picker input[name=quote_id]")]
    assert ids["rival"] in offered and ids["old"] not in offered
    data = {**FORM, "quote_id": [str(ids["broke"]), str(ids["love"])]}
    saved = manager_client.post("/listening/report/quotes", data=data, headers=HX)
    assert saved.status_code == 200
    fragment = soup(saved)
    assert fragment.select_one("html") is None and fragment.select_one("section#quotes .flash-success")
    quotes = fragment.select("li.report-quote")
    assert [int(q["data-interaction"]) for q in quotes] == [ids["broke"], ids["love"]]
    assert quotes[0].select_one(".who.anonymous").get_text() == "a customer on reddit"
    assert quotes[0].select_one("a[href^='/people/']") is None and "Ben Bajo" not in quotes[0].get_text()
    assert quotes[1].select_one("a.who")["href"] == f"/people/{ids['ana']}"
    # the picked come first in the picker, ticked, in their order
    boxes = fragment.select("details.quote-picker input[name=quote_id]")
    assert [int(b["value"]) for b in boxes[:2]] == [ids["broke"], ids["love"]]
    assert all(b.has_attr("checked") for b in boxes[:2]) and not boxes[2].has_attr("checked")
    plain = manager_client.post("/listening/report/quotes", data={**FORM, "quote_id": [str(ids["love"])]})
    assert plain.status_code == 303 and plain.headers["location"] == URL + "#quotes"


def test_too_many_or_foreign_quotes_are_refused_in_place(manager_client, engine):
    ids = build(engine)
    for chosen in ([str(i) for i in range(1, 12)], [str(ids["old"])]):
        refused = manager_client.post("/listening/report/quotes", data={**FORM, "quote_id": chosen}, headers=HX)
        assert refused.status_code == 422
        fragment = soup(refused)
        assert fragment.select_one("#quote_ids-error") is not None
        assert fragment.select_one("details.quote-picker").has_attr("open")
    with Session(engine) as s:
        assert s.exec(select(ManagementReport)).first() is None


def test_a_deleted_quote_is_dropped_with_a_note(manager_client, engine):
    ids = build(engine)
    _pick(engine, [ids["love"], ids["broke"]])
    with session_scope(engine, write=True) as s:
        s.execute(delete(Interaction).where(Interaction.id == ids["love"]))
    for client_page in (manager_client.get(URL), manager_client.get("/listening/report/print?period=month&start=2026-03")):
        assert client_page.status_code == 200
        page = soup(client_page)
        assert [int(q["data-interaction"]) for q in page.select("li.report-quote")] == [ids["broke"]]
        assert "1 picked quote was left out" in page.select_one(".dropped-quotes").get_text()


def test_the_print_view_keeps_numbers_and_quotes_without_navigation(viewer_client, engine):
    ids = build(engine)
    _pick(engine, [ids["broke"]], judgement="A month of launches.")
    page = soup(viewer_client.get("/listening/report/print?period=month&start=2026-03"))
    assert page.select_one("header.topbar") is None and page.select_one("nav.listening-tabs") is None
    assert page.select_one("form") is None and page.select_one("details") is None
    assert page.select_one(".judgement-text strong").get_text() == "A month of launches."
    assert _cell(page, "all", "mentions") == "6"
    assert page.select_one("li.report-quote .who.anonymous").get_text() == "a customer on reddit"
    assert page.select_one("link[href='/static/css/listening.css']")
    assert page.select_one("script[src='/static/js/listening_report.js']")
    css = (ROOT / "static/css/listening.css").read_text()
    printed = css[css.index("/* report */"):]
    assert "@media print" in printed and ".listening-tabs" in printed and ".no-print" in printed


def test_the_csv_is_sectioned_and_audited(viewer_client, engine):
    build(engine)
    response = viewer_client.get("/listening/report.csv?period=month&start=2026-03")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="management-report-month-2026-03-01.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:2] == ["Management report", "March 2026"] and ["Headline numbers"] in rows
    with Session(engine) as s:
        (event,) = s.exec(select(AuditEvent).where(AuditEvent.action == "report.export")).all()
    assert event.after["starts_on"] == "2026-03-01"


def test_signals_show_a_dash_while_they_are_not_available(viewer_client, engine, monkeypatch):
    build(engine)
    real = report.importlib.import_module

    def missing(name: str):  # type: ignore[no-untyped-def]
        if name == "crm.listening.signals":
            raise ImportError(name)
        return real(name)

    monkeypatch.setattr(report.importlib, "import_module", missing)
    page = soup(viewer_client.get(URL))
    assert page.select_one(".signals-opened").get_text(strip=True) == "—"
    assert page.select_one(".signals-sla").get_text(strip=True) == "—"


def test_recipients_are_added_and_removed_on_the_page(manager_client, engine):
    added = manager_client.post("/listening/report/recipients",
                                data={**FORM, "email": "Boss@Example.com", "recipient_period": "quarter"}, headers=HX)
    assert added.status_code == 200
    fragment = soup(added)
    assert fragment.select_one("html") is None
    (row,) = fragment.select("#recipients li.recipient")
    assert "boss@example.com" in row.get_text() and "quarterly" in row.get_text()
    for bad in ({"email": "boss@example.com", "recipient_period": "quarter"}, {"email": "not an address"}):
        refused = manager_client.post("/listening/report/recipients", data={**FORM, **bad}, headers=HX)
        assert refused.status_code == 422
        page = soup(refused)
        assert page.select_one("#recipient-email-error") is not None
        assert page.select_one("#recipients details").has_attr("open")
    plain = manager_client.post("/listening/report/recipients", data={**FORM, "email": "cm@example.com"})
    assert plain.status_code == 303 and plain.headers["location"].endswith("#recipients")
    with Session(engine) as s:
        rows = {r.email: r for r in s.exec(select(ReportRecipient))}
    assert set(rows) == {"boss@example.com", "cm@example.com"}
    delete_url = f"/listening/report/recipients/{rows['boss@example.com'].id}/delete"
    form = soup(manager_client.get(URL)).select_one(f"form[action='{delete_url}']")
    assert form["hx-confirm"] and form.select_one("input[name=csrf_token]")
    removed = manager_client.post(delete_url, data=FORM, headers=HX)
    assert removed.status_code == 200
    assert [li.get_text(" ", strip=True).split(" ")[0] for li in soup(removed).select("li.recipient")] == ["cm@example.com"]
    assert manager_client.post(delete_url, data=FORM).status_code == 404
    with Session(engine) as s:
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "report.recipients")).all()) == 3
