"""Real export shapes (tests/fixtures/imports/, written to each service's documented field names)
imported through the same job as any file: the people, identities and interactions they leave, and
a second import of the same file that changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from crm.audit.models import AuditEvent
from crm.imports import service as imports
from crm.imports.formats import CONVERTERS, DEFAULT_SOURCE, Format
from crm.imports.importer import ImportSpec
from crm.imports.models import ImportKey
from crm.interactions.models import Interaction, Relationship
from crm.jobs import service as jobs
from crm.jobs.models import Job
from crm.profiles.models import Identity, Profile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
FORUM = "https://forum.altavoz.example"


def _import(engine: Engine, name: str, fmt: Format, *, base_url: str = "") -> tuple[Job, list[tuple[int, str]]]:
    entity, _convert = CONVERTERS[fmt]
    spec = ImportSpec(entity=entity, format=fmt.value, source=DEFAULT_SOURCE[fmt], base_url=base_url)
    with Session(engine) as session:
        upload = imports.save_upload(name, (FIXTURES / name).read_bytes(), session=session, created_by_id=None)
        job_id = int(imports.start_import(upload, spec, session=session, created_by_id=None).id or 0)
        session.commit()
    assert jobs.run_job(engine, job_id) == "done"
    with Session(engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        rejected = [(r.line, r.reason) for r in imports.rejections(job_id, session=session)]
        session.expunge(job)
    return job, rejected


def _totals(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {model.__name__: conn.execute(select(func.count()).select_from(model)).scalar_one()
                for model in (Profile, Identity, Interaction, Relationship, ImportKey)}


def _identities(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(Identity.handle, Identity.platform, Identity.followers, Identity.following,  # type: ignore[call-overload]
                                   Identity.posts, Identity.verified, Identity.url, Profile.display_name, Profile.bio,
                                   Profile.location, Profile.reach, Profile.id.label("pid"))
                            .join(Profile, Profile.id == Identity.profile_id)).mappings()
        return {row["handle"]: dict(row) for row in rows}


def _interactions(engine: Engine) -> dict[str, dict[str, Any]]:
    query = select(Interaction.external_id, Interaction.kind, Interaction.channel, Interaction.title,  # type: ignore[call-overload]
                   Interaction.url, Interaction.reach, Interaction.engagements, Interaction.occurred_at,
                   Interaction.source, Interaction.profile_id, Interaction.counterpart_id)
    with Session(engine) as session:
        return {row.external_id: row._asdict() for row in session.exec(query)}


def _again_changes_nothing(engine: Engine, name: str, fmt: Format, first: Job, rejected: list[tuple[int, str]],
                           base_url: str = "") -> None:
    before = _totals(engine)
    job, again_rejected = _import(engine, name, fmt, base_url=base_url)
    assert _totals(engine) == before
    assert job.counts["created"] == 0 and job.counts["people_created"] == 0 and job.counts["updated"] == 0
    assert job.counts["skipped"] == first.counts["created"] + first.counts["skipped"]
    assert again_rejected == rejected


def test_discourse_directory_items(engine):
    job, rejected = _import(engine, "discourse_directory_items.json", Format.discourse_directory, base_url=FORUM)
    assert rejected == [] and job.counts["created"] == 3
    people = _identities(engine)
    assert set(people) == {"lucia_dev", "Bruno", "kenji.t"}
    assert {p["platform"] for p in people.values()} == {"discourse"}
    assert people["lucia_dev"]["display_name"] == "Lucía Gómez Marín" and people["lucia_dev"]["posts"] == 212
    assert people["lucia_dev"]["url"] == f"{FORUM}/u/lucia_dev"
    assert people["kenji.t"]["display_name"] == "kenji.t"  # no name in the directory: the username
    assert (people["Bruno"]["display_name"], people["Bruno"]["posts"]) == ("Bruno Díaz", 64)
    assert _totals(engine)["Profile"] == 3
    _again_changes_nothing(engine, "discourse_directory_items.json", Format.discourse_directory, job, rejected, FORUM)


def test_discourse_user_actions_create_the_people_they_name_and_the_edges(engine):
    job, rejected = _import(engine, "discourse_user_actions.json", Format.discourse_actions, base_url=FORUM)
    # Action type 2 ("was liked") is not an interaction kind: reported with its item number and reason.
    assert [line for line, _ in rejected] == [4] and "kind" in rejected[0][1]
    assert job.counts["created"] == 3 and job.counts["people_created"] == 3 and job.counts["rejected"] == 1
    people = _identities(engine)
    assert set(people) == {"lucia_dev", "Bruno", "kenji.t"}
    lucia, bruno, kenji = people["lucia_dev"]["pid"], people["Bruno"]["pid"], people["kenji.t"]["pid"]
    assert people["lucia_dev"]["display_name"] == "Lucía Gómez Marín"
    found = _interactions(engine)
    assert {k: (v["kind"], v["counterpart_id"]) for k, v in found.items()} == {
        "4821/3/5": ("reply", bruno), "4890/1/4": ("post", None), "4902/2/15": ("forum_answer", kenji)}
    reply = found["4821/3/5"]
    assert reply["profile_id"] == lucia and reply["source"] == "discourse" and reply["channel"] == "discourse"
    assert reply["title"] == "WAL file keeps growing"
    assert reply["url"] == f"{FORUM}/t/wal-file-keeps-growing/4821/3"
    assert reply["occurred_at"] == datetime(2026, 2, 11, 9, 12, 33, 512000, tzinfo=UTC)
    with Session(engine) as session:
        profile = session.get(Profile, lucia)
        assert profile is not None and profile.contribution_count == 3
        assert profile.last_activity_at == datetime(2026, 2, 20, 8, 5, 44, 310000, tzinfo=UTC)
        edges = {(e.source_id, e.target_id, e.kind, e.origin) for e in session.exec(select(Relationship)).scalars()}  # type: ignore[call-overload]
    assert edges == {(lucia, bruno, "replies_to", "interaction"), (lucia, kenji, "replies_to", "interaction")}
    _again_changes_nothing(engine, "discourse_user_actions.json", Format.discourse_actions, job, rejected, FORUM)


def test_discourse_directory_then_actions_name_the_same_people(engine):
    _import(engine, "discourse_directory_items.json", Format.discourse_directory)
    job, _ = _import(engine, "discourse_user_actions.json", Format.discourse_actions)
    assert job.counts["people_created"] == 0 and job.counts["created"] == 3
    assert _totals(engine)["Profile"] == 3


def test_github_events(engine):
    job, rejected = _import(engine, "github_events.json", Format.github_events)
    assert rejected == [] and job.counts["created"] == 4 and job.counts["people_created"] == 3
    people = _identities(engine)
    assert set(people) == {"octocat", "monalisa", "hubot"} and {p["platform"] for p in people.values()} == {"github"}
    found = _interactions(engine)
    octocat, monalisa = people["octocat"]["pid"], people["monalisa"]["pid"]
    assert {k: (v["kind"], v["profile_id"]) for k, v in found.items()} == {
        "35467829101": ("reply", octocat), "35467701442": ("bug_report", monalisa),
        "35467650007": ("post", octocat), "35467600001": ("mention", people["hubot"]["pid"])}
    comment = found["35467829101"]
    assert comment["counterpart_id"] == monalisa  # a comment on monalisa's issue
    assert comment["url"] == "https://github.com/altavoz/altavoz/issues/42#issuecomment-1882001"
    assert comment["title"] == "WAL checkpoint stalls under load" and comment["source"] == "github"
    assert found["35467650007"]["url"] == "https://github.com/altavoz/altavoz/pull/43"
    assert found["35467600001"]["url"] == "https://github.com/altavoz/altavoz"
    assert found["35467701442"]["counterpart_id"] is None
    with engine.connect() as conn:
        edges = conn.execute(select(Relationship.source_id, Relationship.target_id, Relationship.kind)).all()  # type: ignore[call-overload]
    assert [tuple(e) for e in edges] == [(octocat, monalisa, "replies_to")]
    _again_changes_nothing(engine, "github_events.json", Format.github_events, job, rejected)


def test_x_users(engine):
    job, rejected = _import(engine, "x_users.json", Format.x_users)
    assert rejected == [] and job.counts["created"] == 2
    people = _identities(engine)
    dev = people["AltavozDev"]
    assert (dev["platform"], dev["followers"], dev["following"], dev["posts"], dev["verified"]) == ("x", 51395, 2039, 3635, True)
    assert dev["display_name"] == "Altavoz Developers" and dev["location"] == "Madrid, España"
    assert dev["bio"].startswith("Open-source relationship CRM") and dev["url"] == "https://x.com/AltavozDev"
    assert dev["reach"] == 51395  # the stored reach was refreshed
    assert (people["lucia_gm"]["followers"], people["lucia_gm"]["verified"]) == (12480, False)
    with engine.connect() as conn:
        keys = dict(conn.execute(select(ImportKey.external_id, ImportKey.profile_id).where(ImportKey.source == "x")).all())  # type: ignore[call-overload]
    assert keys == {"2244994945": dev["pid"], "783214": people["lucia_gm"]["pid"]}
    _again_changes_nothing(engine, "x_users.json", Format.x_users, job, rejected)


def test_x_posts_attach_to_the_users_imported_before(engine):
    _import(engine, "x_users.json", Format.x_users)
    job, rejected = _import(engine, "x_posts.json", Format.x_posts)
    # The third post's author is neither in includes.users nor imported before.
    assert rejected == [(3, "No person with key 999000111 in source x.")]
    assert job.counts["created"] == 2 and job.counts["people_created"] == 0
    people = _identities(engine)
    found = _interactions(engine)
    release = found["1893047172330021001"]
    assert release["profile_id"] == people["AltavozDev"]["pid"] and release["kind"] == "post"
    assert (release["reach"], release["engagements"]) == (48210, 41 + 12 + 233 + 5)
    assert release["url"] == "https://x.com/AltavozDev/status/1893047172330021001"
    assert release["occurred_at"] == datetime(2026, 2, 24, 16, 0, 5, tzinfo=UTC) and release["channel"] == "x"
    assert found["1893101928877101234"]["profile_id"] == people["lucia_gm"]["pid"]
    _again_changes_nothing(engine, "x_posts.json", Format.x_posts, job, rejected)


def test_youtube_channel_statistics(engine):
    job, rejected = _import(engine, "youtube_channels.json", Format.youtube_channels)
    assert rejected == [] and job.counts["created"] == 2
    people = _identities(engine)
    talks = people["altavoztalks"]
    assert (talks["platform"], talks["followers"], talks["posts"]) == ("youtube", 24100, 212)  # counts came as strings
    assert talks["url"] == "https://www.youtube.com/@altavoztalks" and talks["location"] == "ES"
    assert talks["display_name"] == "Altavoz Talks"
    quiet = people["UCquietCHANNEL0000000002"]  # no custom URL: the channel id; hidden subscribers: 0
    assert (quiet["followers"], quiet["posts"]) == (0, 31)
    assert quiet["url"] == "https://www.youtube.com/channel/UCquietCHANNEL0000000002"
    _again_changes_nothing(engine, "youtube_channels.json", Format.youtube_channels, job, rejected)


def test_a_finished_import_is_audited(engine):
    job, _ = _import(engine, "github_events.json", Format.github_events)
    with Session(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "import.finish")).scalars().all()  # type: ignore[call-overload]
    assert [(e.object_type, e.object_id, e.subject) for e in events] == [("job", job.id, "system")]
    assert events[0].after["status"] == "done" and events[0].after["counts"]["created"] == 4
