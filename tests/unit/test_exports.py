"""List exports and saved-view queries, below the routes: formula escaping, columns, batching, JSON,
and rebuilding a stored query that no longer validates."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlmodel import Session

from crm.exports import lists as exports
from crm.profiles.search import ListQuery
from crm.views import service as views
from tests.factories import make_profile


@pytest.mark.parametrize("value,expected", [
    ("=1+2", "'=1+2"), ("+34 600", "'+34 600"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tTAB", "'\tTAB"), ("\r=x", "'\r=x"), ("Ana = Ana", "Ana = Ana"), ("", ""), (None, ""),
    (["=a", "b"], "'=a; b"), (["b", "=a"], "b; =a"), (True, "true"), (12500, 12500), (-3, -3),
])
def test_safe_cell(value, expected):
    assert exports.safe_cell(value) == expected


def test_export_columns():
    assert exports.export_columns([]) == exports.DEFAULT_COLUMNS
    assert exports.export_columns(["nonsense"]) == exports.DEFAULT_COLUMNS
    assert exports.export_columns(["reach,status", "reach", "display_name", "tags"]) == ["name", "reach", "status", "tags"]


def test_every_person_in_batches_csv_and_json(engine):
    for n in range(7):
        make_profile(engine, f"=Person {n}", roles=["moderator"] if n != 3 else [])
    params = ListQuery(role="moderator")
    with Session(engine) as session:
        people = list(exports.people(params, session=session, batch=2))
        assert [p.profile.display_name for p in people] == [f"=Person {n}" for n in range(7) if n != 3]
        assert exports.count_people(params, session=session) == 6
        chosen = [people[0].profile.id or 0, people[5].profile.id or 0, 99999]
        assert exports.count_people(params, session=session, ids=chosen) == 2
        assert [p.profile.id for p in exports.people(params, session=session, ids=chosen, batch=1)] == chosen[:2]

    text = "".join(exports.csv_chunks(people, ["name", "roles"]))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["id", "name", "roles"]
    assert rows[1][1:] == ["'=Person 0", "moderator"] and len(rows) == 7
    data = json.loads("".join(exports.json_chunks(people, ["name"])))
    assert data[0] == {"id": people[0].profile.id, "name": "=Person 0"}  # JSON is data, not a spreadsheet
    assert json.loads("".join(exports.json_chunks([], ["name"]))) == []


def test_csv_chunks_stream_large_lists(engine):
    make_profile(engine, "Only One")
    with Session(engine) as session:
        (person,) = exports.people(ListQuery(), session=session)
    chunks = list(exports.csv_chunks([person] * 450, ["name"]))
    assert len(chunks) == 3  # every 200 rows, then the rest
    assert "".join(chunks).count("\r\n") == 451


def test_filename_is_safe():
    assert exports.filename(exports.ExportFormat.csv, 'My "best" view/../x') == "My--best--view----x.csv"
    assert exports.filename(exports.ExportFormat.json, "¿?") == "people.json"


def test_rebuild_drops_what_no_longer_validates():
    rebuilt = views.rebuild({"role": "moderator", "status": "famous", "gone": 1, "page": 4, "cols": "reach"})
    assert rebuilt.params == ListQuery(role="moderator")
    assert rebuilt.dropped == ["gone", "status"]
    # A rule across fields (a range upside down) drops the later of the two, keeps the rest.
    crossed = views.rebuild({"reach_min": 500, "reach_max": 10, "role": "customer"})
    assert crossed.params.role == "customer" and crossed.params.reach_min == 500 and crossed.params.reach_max is None
    assert crossed.dropped == ["reach_max"]
    assert views.rebuild({}).params == ListQuery() and views.rebuild({}).dropped == []


def test_query_of_keeps_filters_and_order_not_page_or_columns():
    params = ListQuery(q="ana", order="desc", page=3, per_page=20, cols="reach")
    assert views.query_of(params) == {"q": "ana", "order": "desc"}
    assert views.columns_of(params) == ["reach"]
    assert views.rebuild(views.query_of(params)).params == ListQuery(q="ana", order="desc")
