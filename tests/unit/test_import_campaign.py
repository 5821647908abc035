"""Imported deliverables: an interaction file with a campaign column links each row to its campaign
(reach and engagements come with it); a row naming an unknown campaign is rejected with its reason
and nothing of it is written, the rest is imported."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from crm.audit.service import Actor
from crm.campaigns import report, service
from crm.campaigns.models import CampaignIn, MemberIn, Stage
from crm.db import session_scope
from crm.imports import service as imports
from crm.imports.importer import ImportSpec
from crm.imports.models import ImportRejection
from crm.imports.rows import ALIASES, TARGETS, Entity, Mode, suggest_mapping
from crm.interactions.models import Interaction
from crm.jobs import service as jobs
from crm.jobs.models import Job
from crm.profiles.models import Profile

ACTOR = Actor(user_id=None, label="test")
CSV = """external_id,person_platform,person_handle,kind,occurred_at,url,views,likes,campaign
d1,x,ana_dev,post,2026-03-02T10:00:00Z,https://x.com/ana_dev/status/1,"12,000",340,{cid}
d2,youtube,beatube,video,2026-03-03 18:30,https://youtu.be/abc,50000,2100,{cid}
d3,x,ghost_handle,post,2026-03-04,https://x.com/ghost_handle/status/9,900,12,{missing}
d4,x,ana_dev,reply,2026-03-05,,10,1,
d5,x,ana_dev,post,2026-03-06,,10,1,abc
"""


def _run(engine, content: bytes, tmp_path: Path, mode: Mode = Mode.skip_existing) -> Job:
    path = tmp_path / "deliverables.csv"
    path.write_bytes(content)  # a real file, read back as an upload would be
    with Session(engine) as session:
        upload = imports.save_upload(path.name, path.read_bytes(), session=session, created_by_id=None)
        headers = ["external_id", "person_platform", "person_handle", "kind", "occurred_at", "url", "views", "likes", "campaign"]
        mapping = suggest_mapping(Entity.interactions, headers)
        spec = ImportSpec(entity=Entity.interactions, format="csv", source="sheet", mapping=mapping, mode=mode)
        job_id = int(imports.start_import(upload, spec, session=session, created_by_id=None).id or 0)
        session.commit()
    jobs.run_job(engine, job_id)
    with Session(engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def _campaign(engine) -> int:
    with session_scope(engine, write=True) as s:
        return service.create_campaign(CampaignIn(name="Launch"), session=s, actor=ACTOR).id or 0


def test_campaign_id_is_an_interaction_column_with_an_alias():
    assert "campaign_id" in TARGETS[Entity.interactions]
    assert ALIASES[Entity.interactions]["campaign"] == "campaign_id"
    assert suggest_mapping(Entity.interactions, ["Campaign", "views"])["campaign_id"] == "Campaign"


def test_a_csv_of_deliverables_links_them_and_rejects_unknown_campaigns(engine, tmp_path):
    cid = _campaign(engine)
    job = _run(engine, CSV.format(cid=cid, missing=cid + 1000).encode(), tmp_path)
    assert job.status == "done", job.error
    assert job.counts["created"] == 3 and job.counts["rejected"] == 2
    with Session(engine) as s:
        reasons = {r.line: r.reason for r in s.exec(select(ImportRejection).where(ImportRejection.job_id == job.id))}
        assert reasons[4] == f"No campaign with id {cid + 1000}."
        assert reasons[6].startswith("campaign_id 'abc'")
        rows = {i.external_id: i for i in s.exec(select(Interaction))}
        assert set(rows) == {"d1", "d2", "d4"}
        assert (rows["d1"].campaign_id, rows["d1"].reach, rows["d1"].engagements) == (cid, 12000, 340)
        assert (rows["d2"].campaign_id, rows["d2"].reach) == (cid, 50000)
        assert rows["d4"].campaign_id is None
        # The rejected row's person was not created.
        assert {p.display_name for p in s.exec(select(Profile))} == {"ana_dev", "beatube"}
    with session_scope(engine, write=True) as s:
        for pid in (rows["d1"].profile_id, rows["d2"].profile_id):
            service.add_member(cid, MemberIn(profile_id=pid, stage=Stage.content_live), session=s, actor=ACTOR)
    with session_scope(engine) as s:
        data = report.report(cid, session=s)
        assert (data.deliverables, data.reach, data.engagements) == (2, 62000, 2440)


def test_reimporting_without_the_column_keeps_the_link_and_with_it_updates(engine, tmp_path):
    first, second = _campaign(engine), _campaign(engine)
    _run(engine, CSV.format(cid=first, missing=first).encode(), tmp_path)
    without = "\n".join(",".join(line.split(",")[:-1]) for line in CSV.format(cid="", missing="").splitlines()) + "\n"
    _run(engine, without.replace(",campaign", "").encode(), tmp_path, Mode.create_update)
    with Session(engine) as s:
        assert s.exec(select(Interaction).where(Interaction.external_id == "d1")).one().campaign_id == first
    job = _run(engine, CSV.format(cid=second, missing=second).encode(), tmp_path, Mode.create_update)
    assert job.status == "done"
    with Session(engine) as s:
        linked = {i.external_id: i.campaign_id for i in s.exec(select(Interaction))}
        assert linked["d1"] == linked["d2"] == linked["d3"] == second and linked["d4"] is None
