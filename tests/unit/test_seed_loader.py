"""The demo seed: the shipped files load, look right, move in time, and the generator is reproducible."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from crm.imports.seed_loader import SeedError, default_seed_dir, load_seed
from crm.interactions.models import Interaction, Relationship
from crm.profiles.models import Identity, Profile, normalise_handle

REPO_SEED = Path(__file__).resolve().parents[2] / "seed"
SEED_FILES = ("profiles.csv", "identities.csv", "relationships.csv", "interactions.jsonl")


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def _newest_in_file() -> datetime:
    with (REPO_SEED / "interactions.jsonl").open(encoding="utf-8") as f:
        return max(datetime.fromisoformat(json.loads(line)["occurred_at"]) for line in f)


# ---- the shipped seed ------------------------------------------------------------------------------


def test_default_seed_dir_has_the_four_files():
    for name in SEED_FILES:
        assert (default_seed_dir() / name).is_file(), name


def test_shipped_seed_loads_with_realistic_counts(engine):
    report = load_seed(engine, default_seed_dir())
    assert 250 <= report.profiles <= 350
    assert report.interactions >= 6_000
    assert report.identities >= report.profiles
    assert report.relationships >= 1_000
    assert _count(engine, Profile) == report.profiles
    assert _count(engine, Identity) == report.identities
    with engine.connect() as conn:  # plus the edges derived from interactions with a counterpart
        query = select(func.count()).select_from(Relationship).where(Relationship.origin == "imported")
        imported = conn.execute(query).scalar_one()
    assert imported == report.relationships
    assert _count(engine, Interaction) == report.interactions


def test_seed_keys_map_to_the_right_profiles(engine):
    """Each identity ends up on the profile its row names (the key -> id mapping is right)."""
    load_seed(engine, default_seed_dir())
    with (REPO_SEED / "profiles.csv").open(encoding="utf-8") as f:
        names = {row["key"]: row["display_name"] for row in csv.DictReader(f)}
    with (REPO_SEED / "identities.csv").open(encoding="utf-8") as f:
        expected = {(row["platform"], row["handle"]): names[row["profile_key"]] for row in csv.DictReader(f)}
    query = select(Identity.platform, Identity.handle, Profile.display_name).join(
        Profile, Profile.id == Identity.profile_id
    )
    with engine.connect() as conn:
        found = {(platform, handle): name for platform, handle, name in conn.execute(query)}
    assert found == expected


def test_identity_handle_keys_are_normalised_and_unique_per_platform(engine):
    load_seed(engine, default_seed_dir())
    with engine.connect() as conn:
        rows = conn.execute(select(Identity.platform, Identity.handle, Identity.handle_key)).all()
    assert all(key == normalise_handle(platform, handle) for platform, handle, key in rows)
    keys = [(platform, key) for platform, _, key in rows]
    assert len(keys) == len(set(keys))


def test_times_are_aware_utc_and_span_eighteen_months(engine):
    load_seed(engine, default_seed_dir())
    with engine.connect() as conn:
        times = conn.execute(select(Interaction.occurred_at)).scalars().all()
        seen = conn.execute(select(Relationship.first_seen, Relationship.last_seen)).all()
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in times)
    assert all(t.utcoffset() == timedelta(0) for pair in seen for t in pair if t is not None)
    assert max(times) - min(times) <= timedelta(days=549)  # 18 months, May to October inclusive
    assert max(times) - min(times) >= timedelta(days=500)  # spread over the whole window
    assert max(times) == _newest_in_file()


def test_shift_to_moves_every_time_by_the_same_amount(engine):
    target = datetime(2031, 3, 15, 9, 30, tzinfo=UTC)
    report = load_seed(engine, default_seed_dir(), shift_to=target)
    delta = target - _newest_in_file()
    assert report.shifted_by == delta
    with (REPO_SEED / "relationships.csv").open(encoding="utf-8") as f:
        last_seen = max(datetime.fromisoformat(row["last_seen"]) for row in csv.DictReader(f))
    with engine.connect() as conn:
        newest = conn.execute(select(func.max(Interaction.occurred_at))).scalar_one()
        latest_edge = conn.execute(select(Relationship.last_seen).order_by(Relationship.last_seen.desc())).first()
    assert newest == target
    assert latest_edge is not None and latest_edge[0] == last_seen + delta


def test_shift_to_must_be_aware(engine):
    with pytest.raises(SeedError, match="timezone-aware"):
        load_seed(engine, default_seed_dir(), shift_to=datetime(2031, 1, 1))


def test_loading_twice_is_refused_and_changes_nothing(engine):
    report = load_seed(engine, default_seed_dir())
    with pytest.raises(SeedError, match=f"already has {report.profiles} profiles"):
        load_seed(engine, default_seed_dir())
    assert _count(engine, Profile) == report.profiles
    assert _count(engine, Interaction) == report.interactions


def test_progress_is_reported_for_every_stage(engine):
    calls: list[tuple[str, int, int]] = []
    report = load_seed(engine, default_seed_dir(), progress=lambda *call: calls.append(call))
    finals = {stage: (done, total) for stage, done, total in calls}
    assert finals == {
        "profiles": (report.profiles, report.profiles),
        "identities": (report.identities, report.identities),
        "relationships": (report.relationships, report.relationships),
        "interactions": (report.interactions, report.interactions),
    }
    assert len([c for c in calls if c[0] == "interactions"]) > 1  # batches, not one go


# ---- bad rows ----------------------------------------------------------------------------------------

TINY = {
    "profiles.csv": (
        "key,display_name,roles,team_member,bio,topics,language,location,status,may_contact,may_feature,"
        "consent_basis,consent_date\n"
        'a1,Ana Núñez,evangelist;customer,false,Writes about Python.,python;open source,es,"Madrid, Spain",'
        "active,true,true,consent,2026-01-15\n"
        'b2,Ben Okafor,influencer,false,,kubernetes,en,"Lagos, Nigeria",prospect,false,false,,\n'
    ),
    "identities.csv": (
        "profile_key,platform,handle,url,followers,following,posts,engagement_rate,verified\n"
        "a1,x,AnaCodes,https://x.com/AnaCodes,1200,300,900,2.50,false\n"
        "b2,email,ben@example.com,mailto:ben@example.com,0,0,0,,false\n"
    ),
    "relationships.csv": (
        "source_key,target_key,kind,strength,first_seen,last_seen\n"
        "a1,b2,follows,0.40,2025-01-02T03:04:00Z,2026-02-03T04:05:00Z\n"
    ),
    "interactions.jsonl": json.dumps(
        {"source": "demo", "external_id": "t1", "profile_key": "a1", "kind": "reply", "channel": "x",
         "url": "https://x.com/AnaCodes/status/1", "title": "Re: hola", "body": "¡Gracias!",
         "occurred_at": "2026-03-04T10:22:00Z", "reach": 120, "engagements": 4, "sentiment": 0.6,
         "counterpart_key": "b2"},
        ensure_ascii=False,
    ) + "\n",
}  # fmt: skip


def _tiny_seed(directory: Path, file: str | None = None, extra_line: str = "") -> Path:
    directory.mkdir()
    for name, content in TINY.items():
        (directory / name).write_text(content + (extra_line + "\n" if name == file else ""), encoding="utf-8")
    return directory


def _interaction(**changes: object) -> str:
    record = json.loads(TINY["interactions.jsonl"]) | {"external_id": "t2"} | changes
    return json.dumps(record)


def test_tiny_seed_loads(engine, tmp_path):
    report = load_seed(engine, _tiny_seed(tmp_path / "seed"))
    assert (report.profiles, report.identities, report.relationships, report.interactions) == (2, 2, 1, 1)
    with engine.connect() as conn:
        ana = conn.execute(select(Profile).where(Profile.display_name == "Ana Núñez")).one()
        reply = conn.execute(select(Interaction)).one()
    assert ana.roles == ["evangelist", "customer"] and ana.topics == ["python", "open source"]
    assert reply.profile_id == ana.id and reply.counterpart_id != ana.id
    assert reply.occurred_at == datetime(2026, 3, 4, 10, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    ("file", "line", "where", "reason"),
    [
        ("profiles.csv", "c3,Cy Young,other,false,,,en,,vip,false,false,,", "profiles.csv:4:", "status 'vip'"),
        ("profiles.csv", "c3,Cy Young", "profiles.csv:4:", "Expected 13 fields, found 2"),
        ("profiles.csv", "a1,Ana Again,other,false,,,en,,active,false,false,,", "profiles.csv:4:", "Duplicate of line 2"),
        ("profiles.csv", "c3,Cy Young,other,perhaps,,,en,,active,false,false,,", "profiles.csv:4:", "team_member"),
        ("identities.csv", "b2,github,ben,,lots,0,0,,false", "identities.csv:4:", "followers"),
        ("identities.csv", "b2,x,@,,0,0,0,,false", "identities.csv:4:", "handle"),
        ("identities.csv", "b2,x," + "ß" * 200 + ",,0,0,0,,false", "identities.csv:4:", "too long"),
        ("identities.csv", "b2,github,ben,ftp://ben,0,0,0,,false", "identities.csv:4:", "url"),
        ("identities.csv", "b2,github,ben,,0,0,0,101,false", "identities.csv:4:", "engagement_rate"),
        ("identities.csv", "b2,myspace,ben,,0,0,0,,false", "identities.csv:4:", "platform"),
        ("profiles.csv", "c3,,other,false,,,en,,active,false,false,,", "profiles.csv:4:", "display_name"),
        ("profiles.csv", "c3,Cy Young,boss,false,,,en,,active,false,false,,", "profiles.csv:4:", "roles"),
        ("profiles.csv", "c3,Cy Young,other,false,,,en,,active,false,false,,someday", "profiles.csv:4:", "consent_date"),
        ("relationships.csv", "b2,a1,knows,0.5,yesterday,", "relationships.csv:3:", "first_seen"),
        ("relationships.csv", "b2,a1,hates,0.5,,", "relationships.csv:3:", "kind 'hates'"),
        ("interactions.jsonl", "{not json", "interactions.jsonl:2:", "Not valid JSON"),
        ("interactions.jsonl", _interaction(sentiment=3), "interactions.jsonl:2:", "sentiment"),
        ("interactions.jsonl", _interaction(kind="tweet"), "interactions.jsonl:2:", "kind 'tweet'"),
        ("interactions.jsonl", _interaction(external_id="t1"), "interactions.jsonl:2:", "Duplicate of line 1"),
        ("interactions.jsonl", _interaction(occurred_at=None), "interactions.jsonl:2:", "Missing occurred_at"),
        ("interactions.jsonl", _interaction(reach=-5), "interactions.jsonl:2:", "reach"),
    ],
)
def test_a_bad_row_names_its_file_and_line_and_loads_nothing(engine, tmp_path, file, line, where, reason):
    seed_dir = _tiny_seed(tmp_path / "seed", file, line)
    with pytest.raises(SeedError) as caught:
        load_seed(engine, seed_dir)
    assert str(caught.value).startswith(where)
    assert reason in str(caught.value)
    assert _count(engine, Profile) == 0


def test_a_missing_file_is_named(engine, tmp_path):
    seed_dir = _tiny_seed(tmp_path / "seed")
    (seed_dir / "relationships.csv").unlink()
    with pytest.raises(SeedError, match="relationships.csv"):
        load_seed(engine, seed_dir)


# ---- the generator ---------------------------------------------------------------------------------------


def test_generator_reproduces_the_shipped_files_byte_for_byte(tmp_path):
    """Two runs with different hash seeds both rebuild the committed files exactly."""
    for run, hash_seed in enumerate(("1", "2")):
        out = tmp_path / f"run{run}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, str(REPO_SEED / "generate.py"), "--out", str(out)], check=True,
                       env=env, capture_output=True, timeout=120)  # fmt: skip
        for name in SEED_FILES:
            assert (out / name).read_bytes() == (REPO_SEED / name).read_bytes(), f"{name} differs (run {run})"


def test_seed_files_stay_modest():
    assert (REPO_SEED / "interactions.jsonl").stat().st_size < 3_000_000
