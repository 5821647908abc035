"""Synthetic scale data (crm.ranking.synthetic and `crm seed synthetic`), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import shutil
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from crm.cli import app as cli
from crm.db import make_engine, upgrade
from crm.imports.seed_loader import default_seed_dir
from crm.interactions.models import CONTRIBUTION_KINDS, OUR_KINDS, Interaction, Relationship
from crm.profiles import stats
from crm.profiles.models import Identity, Profile
from crm.ranking.synthetic import MAX_EDGES, MAX_INTERACTIONS, MAX_PROFILES, generate

P, I, R, X = (t.__table__ for t in (Profile, Identity, Relationship, Interaction))  # type: ignore[attr-defined]  # noqa: E741
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
runner = CliRunner()


def count(conn, table, *where) -> int:  # type: ignore[no-untyped-def]
    return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def test_counts_shape_and_derived_columns(engine):
    progress: list[tuple[str, int, int]] = []
    result = generate(engine, profiles=400, edges=3000, interactions=4000, seed=3, now=NOW,
                      progress=lambda *step: progress.append(step))
    assert (result.profiles, result.relationships, result.interactions) == (400, 3000, 4000)
    assert (result.first_profile_id, result.last_profile_id) == (1, 400)
    with engine.connect() as conn:
        assert count(conn, P) == 400
        assert count(conn, I) == result.identities and 400 < result.identities <= 1200
        assert count(conn, R, R.c.origin == "imported") == 3000
        assert count(conn, R, R.c.origin == "interaction") == result.derived_relationships > 0
        assert count(conn, X, X.c.source == "synthetic") == 4000
        profiles = conn.execute(select(P)).mappings().all()
        identities = conn.execute(select(I)).mappings().all()
        edges = conn.execute(select(R).where(R.c.origin == "imported")).mappings().all()
        interactions = conn.execute(select(X)).mappings().all()
    # Every stage reported, ending complete.
    last = {stage: (done, total) for stage, done, total in progress}
    assert set(last) == {"planning", "people", "relationships", "interactions", "derived columns", "derived edges"}
    assert all(done == total for done, total in last.values())

    # People: mostly customers, a few team members, English and Spanish, 1-3 identities each.
    roles = Counter(p["roles"][0] for p in profiles)
    assert roles.most_common(1)[0][0] == "customer" and {"evangelist", "influencer"} <= set(roles)
    assert 1 <= sum(p["is_team_member"] for p in profiles) <= 10
    assert {p["language"] for p in profiles} == {"en", "es"}
    assert all(1 <= len(p["topics"]) <= 3 and p["bio"] and p["location"] for p in profiles)
    per_person = Counter(i["profile_id"] for i in identities)
    assert set(per_person.values()) <= {1, 2, 3} and len(per_person) == 400

    # Followers are heavy-tailed: a few huge accounts, most small; e-mail has none, forums a handful.
    social = [i["followers"] for i in identities if i["platform"] not in ("email", "discourse")]
    assert max(social) > 100 * statistics.median(social)
    assert all(i["followers"] == 0 for i in identities if i["platform"] == "email")
    assert all(i["followers"] < 20 for i in identities if i["platform"] == "discourse")
    assert all(i["handle_key"] == i["handle"].lower() for i in identities)

    # Relationships: distinct, no self-loops, strength in (0, 1], mostly follows, in-degree heavy-tailed.
    keys = {(e["source_id"], e["target_id"], e["kind"]) for e in edges}
    assert len(keys) == 3000 and all(s != t for s, t, _ in keys)
    assert all(0 < e["strength"] <= 1 for e in edges)
    assert Counter(e["kind"] for e in edges).most_common(1)[0][0] == "follows"
    in_degree = Counter(e["target_id"] for e in edges)
    assert max(in_degree.values()) > 8 * statistics.median(in_degree.values())
    assert all(NOW - timedelta(days=731) <= e["first_seen"] <= e["last_seen"] <= NOW for e in edges)

    # Interactions: the last two years, more of them recently, sentiment unknown or in [-1, 1].
    when = [x["occurred_at"] for x in interactions]
    assert min(when) >= NOW - timedelta(days=730) and max(when) <= NOW
    assert sum(w >= NOW - timedelta(days=365) for w in when) > 0.6 * len(when)
    sentiments = [x["sentiment"] for x in interactions if x["sentiment"] is not None]
    assert 0.2 * len(when) < len(sentiments) < 0.8 * len(when) and all(-1 <= s <= 1 for s in sentiments)
    kinds = Counter(x["kind"] for x in interactions)
    assert {k for k, _ in kinds.most_common(4)} == {"post", "reply", "forum_answer", "mention"}
    assert any(x["counterpart_id"] for x in interactions)
    assert all(x["counterpart_id"] != x["profile_id"] for x in interactions)
    assert len({x["external_id"] for x in interactions}) == 4000

    # The derived columns are what crm.profiles.stats computes from the rows just written.
    reach, contributions, latest, handles = Counter(), Counter(), {}, {}
    for i in identities:
        reach[i["profile_id"]] += i["followers"]
        handles.setdefault(i["profile_id"], []).append(i["handle"])
    for x in interactions:
        contributions[x["profile_id"]] += x["kind"] in CONTRIBUTION_KINDS
        if x["kind"] not in OUR_KINDS:
            latest[x["profile_id"]] = max(latest.get(x["profile_id"], x["occurred_at"]), x["occurred_at"])
    for p in profiles:
        assert p["reach"] == reach[p["id"]]
        assert p["contribution_count"] == contributions[p["id"]]
        assert p["last_activity_at"] == latest.get(p["id"])
        assert p["search_text"] == stats.search_text_of(dict(p), handles[p["id"]])
        assert p["sort_name"] == stats.sort_name_of(p["display_name"])
    assert max(p["reach"] for p in profiles) > 0
    # They were inserted right: the refresh that checks them rewrote nothing (no search-index churn).
    assert {p["updated_at"] for p in profiles} == {NOW}


def test_the_stats_refresh_puts_right_what_the_generator_got_wrong(engine, monkeypatch):
    """The derived columns are inserted precomputed, then crm.profiles.stats checks them: were the two to
    disagree, stats wins."""
    from crm.ranking import synthetic

    monkeypatch.setattr(synthetic, "_search_text", lambda profile, handles: "stale")
    generate(engine, profiles=30, edges=40, interactions=60, now=NOW)
    with engine.connect() as conn:
        texts = [t for (t,) in conn.execute(select(P.c.search_text))]
    assert len(texts) == 30 and "stale" not in texts and all(" | " in t for t in texts)


def test_sqlite_page_cache_is_put_back(tmp_path):
    """A SQLite setting: on its own SQLite database, so that it neither skips nor runs twice."""
    engine = make_engine(f"sqlite:///{tmp_path / 'cache.db'}")
    upgrade(engine)
    with engine.connect() as conn:
        before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    generate(engine, profiles=20, edges=30, interactions=30, now=NOW)
    with engine.connect() as conn:  # the pool hands back the connection the run used
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == before


def test_a_second_run_adds_without_collisions(engine):
    first = generate(engine, profiles=120, edges=600, interactions=800, seed=5, now=NOW)
    second = generate(engine, profiles=120, edges=600, interactions=800, seed=5, now=NOW)  # same seed
    assert second.first_profile_id == first.last_profile_id + 1
    with engine.connect() as conn:
        assert count(conn, P) == 240
        assert count(conn, I) == first.identities + second.identities
        assert count(conn, R, R.c.origin == "imported") == 1200
        assert count(conn, X) == 1600
        # The second community links only among its own people.
        crossing = count(conn, R, R.c.origin == "imported", R.c.source_id <= first.last_profile_id,
                         R.c.target_id > first.last_profile_id)
        assert crossing == 0


def _dump(engine):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return (
            conn.execute(select(P.c.id, P.c.display_name, P.c.roles, P.c.topics, P.c.language, P.c.status,
                                P.c.reach, P.c.last_activity_at, P.c.search_text).order_by(P.c.id)).all(),
            conn.execute(select(I.c.profile_id, I.c.platform, I.c.handle, I.c.followers).order_by(I.c.id)).all(),
            conn.execute(select(R.c.source_id, R.c.target_id, R.c.kind, R.c.strength, R.c.first_seen)
                         .where(R.c.origin == "imported").order_by(R.c.source_id, R.c.target_id, R.c.kind)).all(),
            conn.execute(select(X.c.profile_id, X.c.kind, X.c.occurred_at, X.c.sentiment, X.c.counterpart_id,
                                X.c.title, X.c.external_id).order_by(X.c.external_id)).all(),
        )


def test_the_same_seed_gives_the_same_data(engine, sqlite_template, tmp_path):
    generate(engine, profiles=150, edges=900, interactions=1200, seed=11, now=NOW)
    shutil.copy(sqlite_template, tmp_path / "again.db")
    shutil.copy(sqlite_template, tmp_path / "other.db")
    again = make_engine(f"sqlite:///{tmp_path / 'again.db'}")
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        generate(again, profiles=150, edges=900, interactions=1200, seed=11, now=NOW)
        generate(other, profiles=150, edges=900, interactions=1200, seed=12, now=NOW)
        assert _dump(again) == _dump(engine)
        assert _dump(other)[0] != _dump(engine)[0] and _dump(other)[2] != _dump(engine)[2]
    finally:
        again.dispose()
        other.dispose()


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ({"profiles": 0}, "--profiles must be at least 1"),
        ({"profiles": -5}, "--profiles must be at least 1"),
        ({"profiles": MAX_PROFILES + 1}, "--profiles must be at most 5,000,000"),
        ({"edges": -1}, "must not be negative"),
        ({"interactions": -1}, "must not be negative"),
        ({"edges": MAX_EDGES + 1, "profiles": 100_000}, "--edges must be at most 20,000,000"),
        ({"interactions": MAX_INTERACTIONS + 1}, "--interactions must be at most 50,000,000"),
        ({"profiles": 3, "edges": 22}, "--edges must be at most 21 for 3 profiles"),
        ({"profiles": 2.5}, "--profiles must be a whole number"),
        ({"profiles": True}, "--profiles must be a whole number"),
        ({"seed": -1}, "--seed must be"),
    ],
)
def test_bad_sizes_are_refused_before_anything_is_written(engine, sizes, message):
    arguments = {"profiles": 10, "edges": 10, "interactions": 10, **sizes}
    with pytest.raises(ValueError, match=re.escape(message)):
        generate(engine, **arguments)
    with engine.connect() as conn:
        assert count(conn, P) == 0


def test_no_edges_or_interactions_and_a_tiny_dense_graph(engine):
    result = generate(engine, profiles=3, edges=21, interactions=0, now=NOW)  # every possible edge but half
    assert result.derived_relationships == 0
    with engine.connect() as conn:
        assert count(conn, R) == 21 and count(conn, X) == 0
        assert all(row.contribution_count == 0 and row.last_activity_at is None
                   for row in conn.execute(select(P.c.contribution_count, P.c.last_activity_at)))
    generate(engine, profiles=1, edges=0, interactions=5, now=NOW)
    with engine.connect() as conn:
        assert count(conn, X) == 5 and count(conn, X, X.c.counterpart_id.is_not(None)) == 0


def test_no_team_member_needed_below_fifty_people_but_always_one_above(engine):
    generate(engine, profiles=60, edges=100, interactions=100, seed=1, now=NOW, derived_edges=False)
    with engine.connect() as conn:
        assert count(conn, P, P.c.is_team_member.is_(True)) >= 1
        assert count(conn, R, R.c.origin == "interaction") == 0  # derived_edges=False


# ---- the command line ------------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return tmp_path


def test_cli_seed_synthetic(data_dir):
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(cli, ["seed", "synthetic", "--profiles", "250", "--edges", "1500",
                                 "--interactions", "2000", "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert re.search(r"Added 250 people \(ids 1–250\), [\d,]+ identities, 1,500 relationships "
                     r"\(\+[\d,]+ from interactions\) and 2,000 interactions", " ".join(result.output.split()))
    assert "Writing interactions" in result.output
    engine = make_engine(f"sqlite:///{data_dir / 'altavoz.db'}")
    try:
        with engine.connect() as conn:
            assert (count(conn, P), count(conn, R, R.c.origin == "imported"), count(conn, X)) == (250, 1500, 2000)
    finally:
        engine.dispose()
    again = runner.invoke(cli, ["seed", "synthetic", "--profiles", "10", "--edges", "5", "--interactions", "5"])
    assert again.exit_code == 0 and "ids 251–260" in " ".join(again.output.split())


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--profiles", "0"], "--profiles must be at least 1"),
        (["--profiles", "6000000"], "--profiles must be at most 5,000,000"),
        (["--edges", "-3"], "must not be negative"),
    ],
)
def test_cli_refuses_bad_sizes_with_a_clear_message(data_dir, arguments, message):
    runner.invoke(cli, ["db", "upgrade"])
    result = runner.invoke(cli, ["seed", "synthetic", *arguments])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_cli_synthetic_on_an_old_schema_says_what_to_do(data_dir):
    result = runner.invoke(cli, ["seed", "synthetic", "--profiles", "5", "--edges", "5", "--interactions", "5"])
    assert result.exit_code == 1 and "crm db upgrade" in result.output


def test_cli_bare_seed_still_loads_the_demo_with_its_options(data_dir, tmp_path):
    runner.invoke(cli, ["db", "upgrade"])
    folder = tmp_path / "seed-copy"
    shutil.copytree(default_seed_dir(), folder)
    result = runner.invoke(cli, ["seed", "--directory", str(folder), "--no-shift"])
    assert result.exit_code == 0, result.output
    assert re.search(r"Loaded 300 people, \d+ identities", result.output)
    engine = make_engine(f"sqlite:///{data_dir / 'altavoz.db'}")
    try:
        with engine.connect() as conn:
            newest = conn.execute(select(func.max(X.c.occurred_at))).scalar_one()
            sources = {s for (s,) in conn.execute(select(X.c.source).distinct())}
    finally:
        engine.dispose()
    assert sources == {"demo"}
    assert newest.replace(tzinfo=None) < datetime(2026, 11, 1)  # --no-shift: the files' own dates
    help_text = runner.invoke(cli, ["seed", "--help"]).output
    assert "synthetic" in help_text and "--directory" in help_text
