"""The rewards pages: the catalogue, its form, redeeming for a person (double clicks and too few points
included), and the redemptions queue with approve, reject and fulfil, as full pages and htmx fragments."""

from __future__ import annotations

from sqlalchemy import select

from crm.audit.service import SYSTEM
from crm.db import session_scope
from crm.recognition import ledger, rewards
from crm.recognition.models import AwardIn, PointEntry, Redemption, Reward
from crm.recognition.rewards import RewardIn
from crm.routes_check import walk_routes
from tests.factories import make_profile, soup

HX = {"HX-Request": "true"}


def _access_table() -> dict:
    """This area's table, read on its own (tests/access/__init__ merges every area's)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "access" / "recognition_rewards.py"
    spec = importlib.util.spec_from_file_location("recognition_rewards_access", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ACCESS


def _reward(engine, name="Hoodie", cost=100, stock: int | None = 5, **fields):
    with session_scope(engine, write=True) as s:
        return rewards.create_reward(RewardIn(name=name, category=fields.pop("category", "swag"), cost=cost, stock=stock,
                                              **fields), session=s, actor=SYSTEM)


def _person(engine, name="Ana López", points=0):
    pid = make_profile(engine, name).id
    if points:
        with session_scope(engine, write=True) as s:
            ledger.award(AwardIn(profile_ids=[pid], points=points, reason="Thanks"), session=s, actor=SYSTEM)
    return pid


def _balance(engine, pid):
    with session_scope(engine) as s:
        return ledger.balances([pid], conn=s.connection())[pid].current


def _redemptions(engine):
    with session_scope(engine) as s:
        return list(s.execute(select(Redemption).order_by(Redemption.id)).scalars())


def test_every_route_of_this_area_is_in_its_access_table(app):
    mine = {(e.method, e.path): e.access for e in walk_routes(app)
            if getattr(e.route, "endpoint", None) is not None
            and e.route.endpoint.__module__ in ("crm.web.recognition_rewards", "crm.api.recognition_rewards")}
    assert mine == _access_table()


def test_the_catalogue_shows_cards_and_an_empty_state(manager_client, engine):
    page = soup(manager_client.get("/recognition/rewards"))
    assert page.select_one(".empty-state h2").get_text(strip=True) == "No rewards yet"
    assert page.select_one(".recognition-tabs a[aria-current=page]")["href"] == "/recognition/rewards"
    _reward(engine, "Hoodie", cost=100, stock=2, description="Grey, cotton")
    _reward(engine, "Thank-you post", cost=20, stock=None, category="shout_out")
    page = soup(manager_client.get("/recognition/rewards"))
    cards = page.select(".reward-card")
    assert [c.select_one("h2").get_text(strip=True) for c in cards] == ["Thank-you post", "Hoodie"]  # cheapest first
    assert cards[0].select_one(".reward-stock").get_text(strip=True) == "Unlimited"
    assert cards[0].select_one(".reward-category").get_text(strip=True) == "Shout out"
    assert cards[1].select_one(".reward-stock").get_text(strip=True) == "2 left"
    assert cards[1].select_one(".reward-cost").get_text(strip=True) == "100 points"
    assert page.select_one("a[href='/recognition/rewards/new']") is not None


def test_a_viewer_sees_the_catalogue_without_actions(viewer_client, engine):
    _reward(engine)
    page = soup(viewer_client.get("/recognition/rewards"))
    assert len(page.select(".reward-card")) == 1
    assert page.select_one("a[href='/recognition/rewards/new']") is None
    assert page.select_one(".reward-card form") is None and page.select_one(".redeem-for") is None
    assert viewer_client.post("/recognition/rewards", data={"name": "X"}).status_code == 403


def test_the_form_refuses_negative_stock_keeping_what_was_typed(manager_client, engine):
    form = soup(manager_client.get("/recognition/rewards/new"))
    assert form.select_one("input[name=active]").has_attr("checked")  # a new reward is offered by default
    assert [o["value"] for o in form.select("#f-category option")] == [
        "swag", "gift", "experience", "discount", "donation", "shout_out"]
    data = {"name": "Mug", "category": "swag", "cost": "25", "stock": "-2", "description": "Blue", "active": "on"}
    response = manager_client.post("/recognition/rewards", data=data, headers=HX)
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("form#reward-form") is not None and page.select_one("html") is None  # the form block only
    assert "Stock cannot be negative" in page.select_one("#stock-error").get_text()
    assert page.select_one("#f-name")["value"] == "Mug" and page.select_one("#f-stock")["value"] == "-2"
    full = manager_client.post("/recognition/rewards", data={**data, "cost": "0"})  # a plain form: the whole page
    assert full.status_code == 422
    page = soup(full)
    assert page.select_one("title").get_text().startswith("New reward")
    assert page.select_one("#cost-error") is not None and page.select_one("#stock-error") is not None
    with session_scope(engine) as s:
        assert s.execute(select(Reward)).first() is None


def test_add_edit_withdraw_and_offer_again(manager_client, engine):
    response = manager_client.post("/recognition/rewards", data={
        "name": "Conference ticket", "category": "experience", "cost": "500", "stock": "", "active": "on"})
    assert response.status_code == 303 and response.headers["location"] == "/recognition/rewards"
    with session_scope(engine) as s:
        reward = s.execute(select(Reward)).scalars().one()
    assert (reward.cost, reward.stock, reward.active) == (500, None, True)
    edit = soup(manager_client.get(f"/recognition/rewards/{reward.id}/edit"))
    assert edit.select_one("#f-name")["value"] == "Conference ticket"
    assert edit.select_one("#f-category option[selected]")["value"] == "experience"
    response = manager_client.post(f"/recognition/rewards/{reward.id}", data={
        "name": "Conference ticket", "category": "experience", "cost": "450", "stock": "3", "active": "on"})
    assert response.status_code == 303
    assert manager_client.post(f"/recognition/rewards/{reward.id}/deactivate").status_code == 303
    assert soup(manager_client.get("/recognition/rewards")).select(".reward-card") == []
    page = soup(manager_client.get("/recognition/rewards?show=all"))
    assert page.select_one(".reward-card.withdrawn .reward-cost").get_text(strip=True) == "450 points"
    assert manager_client.post(f"/recognition/rewards/{reward.id}/activate").status_code == 303
    with session_scope(engine) as s:
        again = s.get(Reward, reward.id)
    assert (again.cost, again.stock, again.active) == (450, 3, True)
    assert manager_client.get("/recognition/rewards/999999/edit").status_code == 404


def test_choosing_a_person_shows_their_points_and_what_they_can_redeem(manager_client, engine):
    cheap, dear = _reward(engine, "Sticker", cost=10), _reward(engine, "Jacket", cost=500)
    pid = _person(engine, "Ana López", points=120)
    found = manager_client.get("/recognition/rewards/people?q=ana", headers=HX)
    assert [a["href"] for a in soup(found).select(".people-found a")] == [f"/recognition/rewards?profile_id={pid}"]
    assert "120 points" in soup(found).select_one(".people-found li").get_text()
    assert manager_client.get("/recognition/rewards/people?q=ana").status_code == 303  # not htmx: the page
    page = soup(manager_client.get(f"/recognition/rewards?profile_id={pid}"))
    assert page.select_one(".points-balance")["data-balance"] == "120"
    assert "First redemption." in page.select_one(".approval-note").get_text()
    assert page.select_one(f"#reward-{cheap.id} form.redeem-form input[name=profile_id]")["value"] == str(pid)
    assert page.select_one(f"#reward-{dear.id} form.redeem-form") is None
    assert "needs 380 more points" in page.select_one(f"#reward-{dear.id} .short-of").get_text()
    assert manager_client.get("/recognition/rewards?profile_id=999999").status_code == 404


def test_redeeming_from_the_page_and_a_double_click(manager_client, engine):
    reward = _reward(engine, "Last hoodie", cost=50, stock=1)
    pid = _person(engine, points=200)
    data = {"profile_id": str(pid), "shipping": "Calle Mayor 1"}
    response = manager_client.post(f"/recognition/rewards/{reward.id}/redeem", data=data)
    assert response.status_code == 303
    assert response.headers["location"] == "/recognition/redemptions?status=requested"  # a first one waits
    again = manager_client.post(f"/recognition/rewards/{reward.id}/redeem", data=data)  # the second click
    assert again.status_code == 409
    page = soup(again)
    assert "out of stock" in page.select_one("#redeem-error").get_text()
    assert page.select_one(".points-balance")["data-balance"] == "150"
    [redemption] = _redemptions(engine)
    assert (redemption.shipping, redemption.status) == ("Calle Mayor 1", "requested")
    assert _balance(engine, pid) == 150


def test_too_few_points_or_no_person_is_said_on_the_page(manager_client, engine):
    reward = _reward(engine, "Jacket", cost=500)
    pid = _person(engine, "Bruno", points=20)
    response = manager_client.post(f"/recognition/rewards/{reward.id}/redeem",
                                   data={"profile_id": str(pid), "shipping": "Somewhere 2"})
    assert response.status_code == 422
    assert "Bruno has 20 points" in soup(response).select_one("#redeem-error").get_text()
    response = manager_client.post(f"/recognition/rewards/{reward.id}/redeem", data={"profile_id": ""})
    assert response.status_code == 422
    assert "Choose the person" in soup(response).select_one("#redeem-error").get_text()
    response = manager_client.post(f"/recognition/rewards/{reward.id}/redeem", data={"profile_id": "999999"})
    assert response.status_code == 404 and soup(response).select_one("#redeem-error") is not None
    assert _redemptions(engine) == []


def test_the_queue_as_page_and_fragment(manager_client, engine):
    reward = _reward(engine, "Hoodie", cost=30, stock=None)
    ana, bruno = _person(engine, "Ana", points=100), _person(engine, "Bruno", points=100)
    for pid in (bruno, ana):
        manager_client.post(f"/recognition/rewards/{reward.id}/redeem", data={"profile_id": str(pid)})
    full = manager_client.get("/recognition/redemptions")
    assert full.status_code == 200 and full.headers["vary"] == "HX-Request"
    page = soup(full)
    assert page.select_one(".recognition-tabs a[aria-current=page]")["href"] == "/recognition/redemptions"
    rows = page.select("tr[data-redemption]")
    assert [r.select_one("td[data-label=Person] a").get_text(strip=True) for r in rows] == ["Bruno", "Ana"]  # oldest first
    assert page.select_one(".redemption-tabs a[aria-current=true]")["data-status"] == "requested"
    assert "First redemption." in rows[0].select_one(".why-approval").get_text()
    fragment = soup(manager_client.get("/recognition/redemptions?status=approved", headers=HX))
    assert fragment.select_one("html") is None and fragment.select_one("title") is not None
    assert fragment.select_one(".empty-state h2").get_text(strip=True) == "Nothing to fulfil"
    only_ana = soup(manager_client.get(f"/recognition/redemptions?status=all&profile_id={ana}"))
    names = [r.select_one("td[data-label=Person] a").get_text(strip=True) for r in only_ana.select("tr[data-redemption]")]
    assert names == ["Ana"]


def test_a_viewer_reads_the_queue_without_actions(viewer_client, engine):
    reward = _reward(engine, "Hoodie", cost=30, stock=None)
    pid = _person(engine, "Ana", points=100)
    with session_scope(engine, write=True) as s:
        rewards.redeem(reward.id, pid, session=s, actor=SYSTEM)
    page = soup(viewer_client.get("/recognition/redemptions"))
    assert len(page.select("tr[data-redemption]")) == 1 and page.select("tr[data-redemption] form") == []
    assert viewer_client.post("/recognition/redemptions/1/approve").status_code == 403


def test_approve_fulfil_and_reject_from_the_queue(manager_client, engine):
    reward = _reward(engine, "Hoodie", cost=30, stock=4)
    ana, bruno = _person(engine, "Ana", points=100), _person(engine, "Bruno", points=100)
    for pid in (ana, bruno):
        manager_client.post(f"/recognition/rewards/{reward.id}/redeem", data={"profile_id": str(pid)})
    first, second = _redemptions(engine)
    response = manager_client.post(f"/recognition/redemptions/{first.id}/approve", data={"note": "Enjoy"}, headers=HX)
    assert response.status_code == 200
    row = soup(response).select_one("tr")
    assert row["data-status"] == "approved" and row.select_one(".flash-success").get_text(strip=True) == "Approved."
    assert row.select_one("form.fulfil-form") is not None and row.select_one("form.approve-form") is None
    response = manager_client.post(f"/recognition/redemptions/{first.id}/approve", headers=HX)  # a second click
    assert response.status_code == 409
    assert "approved" in soup(response).select_one("tr .flash-error").get_text()
    response = manager_client.post(f"/recognition/redemptions/{first.id}/fulfil", data={"tracking": "PK-123"})
    assert response.status_code == 303 and response.headers["location"] == "/recognition/redemptions"
    response = manager_client.post(f"/recognition/redemptions/{second.id}/reject", data={"note": "Duplicate"}, headers=HX)
    assert soup(response).select_one("tr")["data-status"] == "rejected"
    first, second = _redemptions(engine)
    assert (first.status, first.tracking, first.note) == ("fulfilled", "PK-123", "Enjoy")
    assert (second.status, second.note) == ("rejected", "Duplicate")
    assert (_balance(engine, ana), _balance(engine, bruno)) == (70, 100)
    with session_scope(engine) as s:
        assert s.get(Reward, reward.id).stock == 3
        assert [e.amount for e in s.execute(select(PointEntry).where(PointEntry.profile_id == bruno)
                                             .order_by(PointEntry.id)).scalars()] == [100, -30, 30]
    response = manager_client.post(f"/recognition/redemptions/{first.id}/reject")  # fulfilled: no refund
    assert response.status_code == 303
    assert _balance(engine, ana) == 70
    long_note = manager_client.post(f"/recognition/redemptions/{second.id}/reject", data={"note": "x" * 2000}, headers=HX)
    assert long_note.status_code == 422
    assert manager_client.post("/recognition/redemptions/999999/approve", headers=HX).status_code == 404
