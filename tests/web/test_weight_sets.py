"""The score weight pages (/ranking/weights): the versions, a new version from an old one (bad input
keeps what was typed), each version against the active one with the preview of who moves, and
activation (confirmation, audit, recompute queued, refusals)."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM
from crm.db import session_scope
from crm.jobs.models import Job
from crm.ranking import service
from crm.ranking.models import Weights, WeightSet, WeightSetIn
from tests.factories import csrf_token, soup
from tests.score_data import community


@pytest.fixture
def people(engine):
    ids = community(engine)
    service.recompute(engine)  # the defaults become version 1, active
    return ids


def _form(client, path="/ranking/weights/new") -> dict[str, str]:
    """The form's fields as the page fills them in (what a browser would send back)."""
    page = soup(client.get(path))
    form = page.select_one("form#weights-form")
    data = {field["name"]: field.get("value", "") for field in form.select("input[name]")}
    for select_box in form.select("select[name]"):
        chosen = select_box.select_one("option[selected]") or select_box.select_one("option")
        data[select_box["name"]] = chosen["value"]
    return data


def _sets(engine) -> list[WeightSet]:
    with Session(engine) as session:
        return list(session.exec(select(WeightSet).order_by(WeightSet.version)))


def _version(engine, **changes) -> WeightSet:
    weights = Weights().model_dump(mode="json")
    for key, value in changes.items():
        group, _, name = key.partition("__")
        if name:
            weights[group][name] = value
        else:
            weights[group] = value
    with session_scope(engine, write=True) as session:
        return service.create_weight_set(WeightSetIn.model_validate({"name": "Test", "weights": weights}),
                                         session=session, actor=SYSTEM)


def _events(engine, action):
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


def test_the_list_shows_versions_and_which_is_active(manager_client, engine, people):
    _version(engine, combined={"reach": 1, "advocacy": 0, "influence": 0})
    page = soup(manager_client.get("/ranking/weights"))
    assert page.title.get_text(strip=True).startswith("Score weights")
    rows = page.select("table.weight-sets tbody tr")
    assert [row.select_one("td.version a").get_text(strip=True) for row in rows] == ["v2", "v1"]
    assert rows[1].select_one(".active-badge") is not None and rows[0].select_one(".active-badge") is None
    assert "never" in rows[0].get_text() and rows[0].select_one("a")["href"].startswith("/ranking/weights/")
    assert page.select_one("a#new-weight-set")["href"] == "/ranking/weights/new"


def test_a_viewer_reads_but_cannot_make_or_activate_versions(viewer_client, engine, people):
    new = _version(engine, kinds__post=2.0)
    assert viewer_client.get("/ranking/weights").status_code == 200
    assert soup(viewer_client.get("/ranking/weights")).select_one("a#new-weight-set") is None
    page = soup(viewer_client.get(f"/ranking/weights/{new.id}"))
    assert page.select_one("#activate-weights") is None and page.select_one("#preview") is not None
    assert viewer_client.get("/ranking/weights/new").status_code == 403
    assert viewer_client.get(f"/ranking/weights/{new.id}/activate").status_code == 403
    assert viewer_client.post("/ranking/weights", data={"name": "x"}).status_code == 403
    assert viewer_client.post(f"/ranking/weights/{new.id}/activate").status_code == 403
    assert [ws.version for ws in _sets(engine)] == [1, 2] and not _sets(engine)[1].active


def test_the_form_is_filled_in_from_the_active_version_or_the_one_asked_for(manager_client, engine, people):
    data = _form(manager_client)
    assert data["combined.reach"] == "0.3" and data["combined.advocacy"] == "0.5" and data["kinds.forum_answer"] == "3"
    assert data["counts.email"] == "presence" and data["platform.email"] == "0" and data["platform.discourse"] == "100"
    assert data["counts.youtube"] == "followers" and data["platform.youtube"] == "1"
    assert data["edges.collaborates"] == "1.5" and data["levels.champion"] == "50" and data["monthly_decay"] == "0.9"
    other = _version(engine, kinds__post=2.5, presence={"email": 7.0}, platforms={"x": 0.5})
    data = _form(manager_client, f"/ranking/weights/new?from={other.id}")
    assert data["kinds.post"] == "2.5" and data["from"] == str(other.id)
    assert data["counts.email"] == "presence" and data["platform.email"] == "7"
    # Left out of this version's lists: the default (a forum account counts a fixed 100).
    assert data["counts.discourse"] == "presence" and data["platform.discourse"] == "100"
    assert data["platform.x"] == "0.5"
    spanish = soup(manager_client.get(f"/ranking/weights/new?from={other.id}", headers={"Accept-Language": "es"}))
    assert spanish.select_one("input[name='kinds.post']")["value"] == "2,5"
    assert manager_client.get("/ranking/weights/new?from=999999").status_code == 404
    # Every box has a label and sits in a fieldset with a legend.
    page = soup(manager_client.get("/ranking/weights/new"))
    for box in page.select("form#weights-form input[type=text], form#weights-form select"):
        assert box.get("aria-label") or page.select_one(f"label[for='{box['id']}']"), box["name"]
    assert len(page.select("form#weights-form fieldset > legend")) == 6


def test_bad_input_is_refused_per_field_and_keeps_what_was_typed(manager_client, engine, people):
    data = _form(manager_client)
    data.update({"name": "Tried", "note": "n" * 1001, "kinds.post": "-1", "kinds.talk": "lots", "platform.x": "2000",
                 "levels.champion": "10", "levels.advocate": "20", "monthly_decay": "0", "sentiment": "0,25"})
    response = manager_client.post("/ranking/weights", data=data)
    assert response.status_code == 422
    page = soup(response)
    form = page.select_one("form#weights-form")
    assert form.select_one("#form-errors") is not None
    errors = {small["id"]: small.get_text(strip=True) for small in form.select("small.field-error")}
    assert errors == {"kinds-post-error": "Use zero or more.", "kinds-talk-error": "Enter a number, like 1.5.",
                      "platform-x-error": "Use at most 1000.", "monthly_decay-error": "Use a number above 0.",
                      "note-error": "Use at most 1000 characters."}
    assert form.select_one("input[name='kinds.post']")["aria-invalid"] == "true"
    assert "champion > advocate > contributor" in form.select_one("#levels-error").get_text()
    # What was typed is all there, good and bad.
    assert form.select_one("input[name='kinds.talk']")["value"] == "lots"
    assert form.select_one("input[name='kinds.post']")["value"] == "-1"
    assert form.select_one("input[name='sentiment']")["value"] == "0,25"
    assert form.select_one("input[name=name]")["value"] == "Tried"
    assert form.select_one("select[name='counts.email'] option[selected]")["value"] == "presence"
    assert [ws.version for ws in _sets(engine)] == [1]


def test_all_components_at_zero_and_thresholds_out_of_order_are_group_messages(manager_client, engine, people):
    data = _form(manager_client)
    data.update({"combined.reach": "0", "combined.advocacy": "0", "combined.influence": "0"})
    page = soup(manager_client.post("/ranking/weights", data=data))
    assert "needs a weight above zero" in page.select_one("#combined-error").get_text()
    assert page.select_one("input[name='combined.reach']")["value"] == "0"
    data = _form(manager_client)
    data.update({"levels.contributor": "15"})
    response = manager_client.post("/ranking/weights", data=data)
    assert response.status_code == 422
    assert "champion > advocate > contributor" in soup(response).select_one("#levels-error").get_text()
    data = _form(manager_client)
    data.update({"name": "x" * 101})
    response = manager_client.post("/ranking/weights", data=data)
    assert response.status_code == 422
    assert soup(response).select_one("#name-error").get_text(strip=True) == "Use at most 100 characters."
    assert len(_sets(engine)) == 1


def test_saving_makes_a_new_inactive_version_audited(manager_client, engine, people):
    data = _form(manager_client)
    data.update({"name": "Reach first", "note": "For the launch", "combined.reach": "1", "combined.advocacy": "0",
                 "combined.influence": "0", "kinds.post": "2,5", "counts.email": "followers", "platform.email": "0.5",
                 "counts.blog": "presence", "platform.blog": "1000000"})
    response = manager_client.post("/ranking/weights", data=data)
    assert response.status_code == 303
    sets = _sets(engine)
    assert [ws.version for ws in sets] == [1, 2] and sets[0].active and not sets[1].active
    new = sets[1]
    assert response.headers["location"] == f"/ranking/weights/{new.id}"
    assert (new.name, new.note) == ("Reach first", "For the launch")
    assert new.weights["combined"] == {"reach": 1, "advocacy": 0, "influence": 0}
    assert new.weights["kinds"]["post"] == 2.5 and new.weights["platforms"]["email"] == 0.5
    assert "email" not in new.weights["presence"] and new.weights["presence"]["blog"] == 1_000_000
    assert new.weights["levels"] == {"champion": 50, "advocate": 15, "contributor": 3}
    created = _events(engine, "weights.create")
    assert len(created) == 1 and created[0].object_id == new.id and created[0].subject == "manager@example.com"
    page = soup(manager_client.get(response.headers["location"]))
    assert "Version 2 saved" in page.select_one(".flash-success").get_text()


def test_a_version_shows_its_values_against_the_active_one(manager_client, engine, people):
    new = _version(engine, kinds__post=2.0, presence={"email": 0.0, "discourse": 250.0, "discord": 50.0, "slack": 50.0})
    page = soup(manager_client.get(f"/ranking/weights/{new.id}"))
    changed = {row["data-key"] for row in page.select(".values-table tr.changed")}
    assert changed == {"kinds.post", "platforms.discourse"}
    row = page.select_one(".values-table tr[data-key='kinds.post']")
    assert [td.get_text(strip=True) for td in row.select("td")] == ["2", "1"]
    assert row.select_one(".changed-chip") is not None
    discourse = page.select_one(".values-table tr[data-key='platforms.discourse']")
    assert [td.get_text(strip=True) for td in discourse.select("td")] == ["flat 250", "flat 100"]
    assert "2 values differ from the active version (v1)" in page.select_one(".weights-values").get_text(" ", strip=True)
    # The active version: its values alone, no preview, no button.
    active = _sets(engine)[0]
    page = soup(manager_client.get(f"/ranking/weights/{active.id}"))
    assert page.select_one(".values-table tr.changed") is None and page.select_one("#preview") is None
    assert page.select_one("#activate-weights") is None and page.select_one(".active-badge") is not None
    nobody = soup(manager_client.get(f"/ranking/weights/{active.id}/preview", headers={"HX-Request": "true"}))
    assert "nobody would move" in nobody.select_one("section#preview").get_text()
    assert manager_client.get("/ranking/weights/999999").status_code == 404
    assert manager_client.get("/ranking/weights/999999/preview").status_code == 404


def test_the_preview_lists_who_moves(manager_client, engine, people):
    """By reach alone, Ana (half a million followers) must go to #1; Bruno, first by advocacy, drops."""
    new = _version(engine, combined={"reach": 1.0, "advocacy": 0.0, "influence": 0.0})
    # The version's page shows its values at once and loads the preview when it is ready.
    placeholder = soup(manager_client.get(f"/ranking/weights/{new.id}")).select_one("section#preview")
    assert placeholder["hx-get"] == f"/ranking/weights/{new.id}/preview" and placeholder["hx-trigger"] == "load"
    assert placeholder["hx-swap"] == "outerHTML" and placeholder.select_one(".movers-up") is None
    assert placeholder.select_one(f"a[href='/ranking/weights/{new.id}/preview']") is not None  # without JavaScript
    response = manager_client.get(f"/ranking/weights/{new.id}/preview", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["vary"] == "HX-Request"
    fragment = soup(response)
    assert fragment.select_one("html") is None and fragment.select_one("h1") is None
    preview = fragment.select_one("section#preview")
    full = soup(manager_client.get(f"/ranking/weights/{new.id}/preview"))
    assert full.select_one("h1").get_text(strip=True) == "Who would move with version 2"
    assert full.select_one("section#preview .movers-up tbody tr")["data-profile"] == str(people["Ana"])
    up = preview.select(".movers-up tbody tr")
    down = preview.select(".movers-down tbody tr")
    assert up[0]["data-profile"] == str(people["Ana"])
    ana = up[0].get_text(" ", strip=True)
    before = int(re.search(r"#(\d+) → #1", ana).group(1))
    assert before > 1 and f"▲ {before - 1}" in ana
    assert str(people["Bruno"]) in {row["data-profile"] for row in down}
    assert preview.select_one(".top-after ol li a")["href"] == f"/people/{people['Ana']}"
    assert preview.select_one(".top-before ol li a")["href"] != f"/people/{people['Ana']}"
    summary = preview.select_one(".preview-summary").get_text(" ", strip=True)
    assert f"{len(up)} move up" in summary or f"{len(up)} moves up" in summary
    # Levels come from advocacy, which this version does not change.
    assert "Nobody's level would change." in preview.get_text()
    counts = preview.select(".level-counts tbody tr")
    assert all(row.select("td")[0].get_text(strip=True) == row.select("td")[1].get_text(strip=True) for row in counts)


def test_activation_asks_first_then_is_audited_and_queues_a_recompute(manager_client, engine, people):
    new = _version(engine, combined={"reach": 1.0, "advocacy": 0.0, "influence": 0.0})
    detail = soup(manager_client.get(f"/ranking/weights/{new.id}"))
    assert detail.select_one("#activate-weights")["href"] == f"/ranking/weights/{new.id}/activate"
    confirm = soup(manager_client.get(f"/ranking/weights/{new.id}/activate"))
    form = confirm.select_one(f"form[action='/ranking/weights/{new.id}/activate']")
    assert form["method"] == "post" and form.select_one("input[name=csrf_token]") is not None
    assert form.select_one(f"a[href='/ranking/weights/{new.id}']") is not None  # "not now"
    assert not _sets(engine)[1].active  # looking at the confirmation changes nothing
    token = csrf_token(manager_client, f"/ranking/weights/{new.id}/activate")
    del manager_client.headers["X-CSRF-Token"]  # a plain form: the token travels in the hidden field
    response = manager_client.post(f"/ranking/weights/{new.id}/activate", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/ranking"
    old, activated = _sets(engine)
    assert activated.active and not old.active and activated.activated_by_id is not None
    events = _events(engine, "weights.activate")
    assert len(events) == 1 and events[0].object_id == new.id and events[0].after == {"version": 2}
    with Session(engine) as session:
        jobs = list(session.exec(select(Job).where(Job.kind == "rank")))
    assert len(jobs) == 1 and jobs[0].status == "queued" and jobs[0].params == {"reason": "weights"}


def test_activating_the_active_version_again_is_a_clear_conflict(manager_client, engine, people):
    active = _sets(engine)[0]
    response = manager_client.post(f"/ranking/weights/{active.id}/activate")
    assert response.status_code == 409
    page = soup(response)
    assert page.select_one("#weights-error").get_text(strip=True) == "Version 1 is already the active one: nothing changed."
    assert page.select_one("h1").get_text(" ", strip=True).startswith("Version 1")
    assert _events(engine, "weights.activate") == []
    confirm = soup(manager_client.get(f"/ranking/weights/{active.id}/activate"))
    assert confirm.select_one("#weights-error") is not None and confirm.select_one("#confirm-activate") is None


def test_activation_needs_the_csrf_token(manager_client, engine, people):
    new = _version(engine, kinds__post=2.0)
    del manager_client.headers["X-CSRF-Token"]
    assert manager_client.post(f"/ranking/weights/{new.id}/activate").status_code == 403
    assert manager_client.post(f"/ranking/weights/{new.id}/activate", data={"csrf_token": "forged"}).status_code == 403
    assert manager_client.post(f"/ranking/weights/{new.id}/activate",
                               headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert not _sets(engine)[1].active and _events(engine, "weights.activate") == []


def test_before_any_version_the_list_says_so_and_the_form_has_the_defaults(manager_client, engine):
    page = soup(manager_client.get("/ranking/weights"))
    assert page.select_one("table.weight-sets") is None
    assert page.select_one(".empty-state a")["href"] == "/ranking/weights/new"
    data = _form(manager_client)
    assert "from" not in data and data["combined.advocacy"] == "0.5" and data["levels.contributor"] == "3"
    assert manager_client.post("/ranking/weights", data={**data, "name": "First"}).status_code == 303
    # Saving the first version keeps the defaults active (as version 1) and adds this one, inactive.
    assert [(ws.version, ws.active, ws.name) for ws in _sets(engine)] == [(1, True, "Default"), (2, False, "First")]
