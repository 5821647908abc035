"""The import pages: upload, map, preview, run as a job, history, rejected rows."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from crm.interactions.models import Interaction
from crm.profiles.models import Identity, Profile
from tests.factories import csrf_token, soup

PEOPLE = (
    "Nombre;Usuario;Red;Seguidores\n"
    "Ana Núñez;AnaCodes;x;1200\n"
    "Ben Okafor;benok;github;abc\n"
    "Cy Young;cyyoung;myspace;10\n"
    "Dee Lee;deelee;x;-5\n"
    "Ana Again;anacodes;x;5\n"
).encode("cp1252")


def _upload(client, content: bytes, name: str = "people.csv", **fields: str):
    data = {"csrf_token": csrf_token(client), "format": "auto", "entity": "people", "source": "crm-test", **fields}
    return client.post("/imports", data=data, files={"file": (name, content, "text/csv")}, follow_redirects=False)


def _mapping_form(client, url: str) -> dict[str, str]:
    page = soup(client.get(url))
    form = page.select_one("#import-form")
    assert form is not None
    data = {i["name"]: i.get("value", "") for i in form.select("input[name]") if i.get("type") != "checkbox"}
    for sel in form.select("select[name]"):
        chosen = sel.select_one("option[selected]")
        data[sel["name"]] = chosen["value"] if chosen else ""
    return data


def _wait(client, job_url: str) -> object:
    engine = client.app.state.engine
    if engine.dialect.name == "postgresql":  # no in-process worker there: run what is queued, as `crm worker` would
        from crm.jobs import service as jobs

        jobs.run_pending(engine)
    for _ in range(200):
        page = soup(client.get(job_url, headers={"HX-Request": "true"}))
        card = page.select_one(".job-card")
        assert card is not None
        if card["data-status"] in ("done", "failed"):
            return page
        time.sleep(0.05)
    raise AssertionError("the import did not finish")


def _count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_the_page_has_an_upload_form_and_an_empty_history(manager_client):
    page = soup(manager_client.get("/imports"))
    assert page.select_one("form#upload-form input[type=file][name=file]") is not None
    assert page.select_one(".empty-state") is not None
    fragment = soup(manager_client.get("/imports", headers={"HX-Request": "true"}))
    assert fragment.select_one("form#upload-form") is None and fragment.select_one(".empty-state") is not None


def test_viewers_see_the_history_but_no_upload_form(viewer_client):
    page = soup(viewer_client.get("/imports"))
    assert page.select_one("form#upload-form") is None


def test_upload_map_preview_import_and_history(manager_client, engine):
    response = _upload(manager_client, PEOPLE)
    assert response.status_code == 303
    url = response.headers["location"]
    page = soup(manager_client.get(url))
    # Delimiter and encoding detected; the mapping suggested from the header (aliases).
    assert page.select_one("#map_display_name option[selected]")["value"] == "Nombre"
    assert page.select_one("#map_handle option[selected]")["value"] == "Usuario"
    assert page.select_one("#map_platform option[selected]")["value"] == "Red"
    data = _mapping_form(manager_client, url)
    data["map_followers"] = "Seguidores"
    upload_id = url.split("/")[3].split("?")[0]
    preview = manager_client.post(f"/imports/uploads/{upload_id}/preview", data=data, headers={"HX-Request": "true"})
    assert preview.status_code == 200
    fragment = soup(preview)
    assert fragment.select_one("[data-count=created]").text == "1"
    assert fragment.select_one("[data-count=rejected]").text == "4"
    lines = [td.text for td in fragment.select(".preview-errors td[data-label=Line]")]
    assert lines == ["3", "4", "5", "6"]
    assert _count(engine, Profile) == 0  # the preview wrote nothing
    full = manager_client.post(f"/imports/uploads/{upload_id}/preview", data=data)
    assert soup(full).select_one("h1") is not None
    started = manager_client.post(f"/imports/uploads/{upload_id}/start", data=data, follow_redirects=False)
    assert started.status_code == 303
    done = _wait(manager_client, started.headers["location"])
    assert done.select_one("[data-count=created]").text == "1"
    assert done.select_one("[data-count=rejected]").text == "4"
    reasons = [td.text for td in done.select(".rejections-table td[data-label=Reason]")]
    assert "followers" in reasons[0] and "myspace" in reasons[1] and "Duplicate of line 2" in reasons[3]
    assert _count(engine, Profile) == 1 and _count(engine, Identity) == 1
    job_id = started.headers["location"].rsplit("/", 1)[1]
    csv_text = manager_client.get(f"/imports/jobs/{job_id}/rejections.csv").text
    assert csv_text.splitlines()[0] == "line,reason,row" and len(csv_text.splitlines()) == 5
    history = soup(manager_client.get("/imports"))
    assert [td.text for td in history.select(".import-row td[data-label=Created]")] == ["1"]
    # The mapping is remembered for the source: the next upload suggests it.
    again = _upload(manager_client, PEOPLE)
    page = soup(manager_client.get(again.headers["location"]))
    assert page.select_one("#map_followers option[selected]")["value"] == "Seguidores"


def test_all_or_nothing_imports_nothing(manager_client, engine):
    url = _upload(manager_client, PEOPLE).headers["location"]
    data = _mapping_form(manager_client, url) | {"all_or_nothing": "on"}
    upload_id = url.split("/")[3].split("?")[0]
    started = manager_client.post(f"/imports/uploads/{upload_id}/start", data=data, follow_redirects=False)
    done = _wait(manager_client, started.headers["location"])
    assert done.select_one(".job-card")["data-status"] == "failed"
    assert "nothing was imported" in done.select_one(".field-error").text
    assert _count(engine, Profile) == 0


def test_a_file_over_the_limit_gets_413(manager_client):
    limit = manager_client.app.state.settings.max_upload_bytes
    response = _upload(manager_client, b"a,b\n" + b"x" * (limit + 10))
    assert response.status_code == 413


def test_missing_required_columns_are_named(manager_client):
    url = _upload(manager_client, b"foo,bar\n1,2\n", entity="interactions").headers["location"]
    data = _mapping_form(manager_client, url)
    upload_id = url.split("/")[3].split("?")[0]
    response = manager_client.post(f"/imports/uploads/{upload_id}/preview", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "Required columns are missing" in soup(response).select_one(".field-error").text


def test_interactions_create_people_seen_only_by_handle(manager_client, engine):
    content = (b"external_id,handle,platform,kind,date,counterpart_platform,counterpart_handle\n"
               b"1,ana,github,reply,2026-03-04 10:00:00+01:00,github,ben\n"
               b"2,ana,github,post,04/03/2026,,\n")
    url = _upload(manager_client, content, entity="interactions").headers["location"]
    data = _mapping_form(manager_client, url)
    data["map_person_platform"], data["map_person_handle"] = "platform", "handle"
    upload_id = url.split("/")[3].split("?")[0]
    started = manager_client.post(f"/imports/uploads/{upload_id}/start", data=data, follow_redirects=False)
    done = _wait(manager_client, started.headers["location"])
    assert done.select_one("[data-count=created]").text == "2"
    assert _count(engine, Profile) == 2 and _count(engine, Interaction) == 2
