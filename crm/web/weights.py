"""HTML routes: the weight sets behind every score (/ranking/weights): the versions, a new version
made from an old one, each version's values against the active one with a preview of who would move,
and activation (after a confirmation step, since it changes everyone's ranking). Also the "why this
score" panel of a person on its own (/people/{id}/score), which the profile page includes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from babel.numbers import get_decimal_symbol
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from crm.accounts import service as accounts
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.errors import Conflict
from crm.i18n import current_locale, gettext
from crm.interactions.models import CONTRIBUTION_KINDS, InteractionKind, RelationshipKind
from crm.profiles.detail import score_panel
from crm.profiles.models import Platform
from crm.ranking import boards, service
from crm.ranking.models import ComponentWeights, LevelThresholds, WeightSet, WeightSetIn, level_label
from crm.schemas import MAX_ID
from crm.templating import render
from crm.web.common import Form, field_errors, redirect, text
from crm.web.numbers import decimal

router = APIRouter()

KINDS = [k.value for k in InteractionKind if k in CONTRIBUTION_KINDS]
PLATFORMS = [p.value for p in Platform]
EDGES = [k.value for k in RelationshipKind]
COMPONENTS = ("reach", "advocacy", "influence")
LEVELS = ("champion", "advocate", "contributor")
FOLLOWERS, PRESENCE = "followers", "presence"


# ---- numbers as the form shows and reads them -------------------------------------------------


def shown(value: float) -> str:
    """1.5 -> "1.5" ("1,5" on a Spanish page), 100.0 -> "100": no grouping, no needless zeros."""
    written = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return written.replace(".", get_decimal_symbol(current_locale.get()))


class BadNumber(ValueError):
    pass


def read_number(typed: str) -> float:
    """A number as a person types it: "1.5" or "1,5" (either sign is the decimal one when it appears
    once), "1.000.000" or "1 000 000" (repeated: grouping), "1,234.5" (both: the last one is decimal)."""
    cleaned = typed.strip().replace(" ", "").replace("\u00a0", "").replace("_", "")
    if not cleaned:
        raise BadNumber(gettext("Enter a number, like 1.5."))
    dots, commas = cleaned.count("."), cleaned.count(",")
    if dots and commas:
        decimal_sign = "." if cleaned.rfind(".") > cleaned.rfind(",") else ","
        grouping = "," if decimal_sign == "." else "."
        cleaned = cleaned.replace(grouping, "").replace(decimal_sign, ".")
    elif commas == 1:
        cleaned = cleaned.replace(",", ".")
    elif commas > 1 or dots > 1:
        cleaned = cleaned.replace(",", "").replace(".", "")
    try:
        value = float(cleaned)
    except ValueError:
        raise BadNumber(gettext("Enter a number, like 1.5.")) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise BadNumber(gettext("Enter a number, like 1.5."))
    return value


@dataclass(frozen=True)
class Bound:
    low: float
    high: float
    low_open: bool = False  # the value must be above `low`, not equal to it

    def check(self, value: float) -> str | None:
        if value < self.low or (self.low_open and value == self.low):
            if self.low_open:
                return gettext("Use a number above %(low)s.") % {"low": shown(self.low)}
            return gettext("Use zero or more.") if self.low == 0 else gettext("Use %(low)s or more.") % {"low": shown(self.low)}
        if value > self.high:
            return gettext("Use at most %(high)s.") % {"high": shown(self.high)}
        return None


# The same limits as crm.ranking.models.Weights, checked here field by field so that each box gets its message.
BOUNDS = {
    "combined": Bound(0, 100), "kinds": Bound(0, 1000), "edges": Bound(0, 1000), "sentiment": Bound(0, 1),
    "monthly_decay": Bound(0, 1, low_open=True), "levels": Bound(0, 1_000_000, low_open=True),
    FOLLOWERS: Bound(0, 1000), PRESENCE: Bound(0, 1_000_000_000),
}


# ---- the form: every weight as a box, named group.key -----------------------------------------


def form_values(weights: dict[str, Any]) -> dict[str, str]:
    """A weight set's values as the form shows them."""
    values: dict[str, str] = {}
    for name in COMPONENTS:
        values[f"combined.{name}"] = shown(weights["combined"][name])
    for kind in KINDS:
        values[f"kinds.{kind}"] = shown(weights["kinds"].get(kind, 0.0))  # saved sets hold every kind (defaults filled)
    values["sentiment"] = shown(weights["sentiment"])
    values["monthly_decay"] = shown(weights["monthly_decay"])
    for platform in PLATFORMS:
        presence = platform in weights["presence"]
        values[f"counts.{platform}"] = PRESENCE if presence else FOLLOWERS
        values[f"platform.{platform}"] = shown(weights["presence"][platform] if presence
                                               else weights["platforms"].get(platform, 1.0))
    for kind in EDGES:
        values[f"edges.{kind}"] = shown(weights["edges"].get(kind, 1.0))  # as the computation reads it
    for level in LEVELS:
        values[f"levels.{level}"] = shown(weights["levels"][level])
    return values


def typed_form(form: FormData) -> dict[str, str]:
    """What was typed, every box of the form (a missing one as empty)."""
    names = ["name", "note", *(f"combined.{c}" for c in COMPONENTS), *(f"kinds.{k}" for k in KINDS), "sentiment",
             "monthly_decay", *(f"platform.{p}" for p in PLATFORMS), *(f"edges.{k}" for k in EDGES),
             *(f"levels.{lv}" for lv in LEVELS)]
    typed = {name: text(form, name) for name in names}
    for platform in PLATFORMS:
        typed[f"counts.{platform}"] = PRESENCE if form.get(f"counts.{platform}") == PRESENCE else FOLLOWERS
    return typed


def parse_form(typed: dict[str, str]) -> tuple[WeightSetIn | None, dict[str, str]]:
    """The new version, or the message of each box that is wrong (a whole group's under its name:
    "combined" when every component is zero, "levels" when the thresholds are out of order)."""
    errors: dict[str, str] = {}
    placeholder = object()

    def number(name: str, bound: Bound) -> Any:
        try:
            value = read_number(typed.get(name, ""))
        except BadNumber as exc:
            errors[name] = str(exc)
            return placeholder
        problem = bound.check(value)
        if problem:
            errors[name] = problem
            return placeholder
        return value

    def group(names: list[str], prefix: str, bound: Bound) -> dict[str, Any]:
        return {n: v for n in names if (v := number(f"{prefix}.{n}", bound)) is not placeholder}

    combined = group(list(COMPONENTS), "combined", BOUNDS["combined"])
    levels = group(list(LEVELS), "levels", BOUNDS["levels"])
    weights: dict[str, Any] = {
        "combined": combined, "kinds": group(KINDS, "kinds", BOUNDS["kinds"]),
        "sentiment": number("sentiment", BOUNDS["sentiment"]),
        "monthly_decay": number("monthly_decay", BOUNDS["monthly_decay"]),
        "platforms": {}, "presence": {}, "edges": group(EDGES, "edges", BOUNDS["edges"]), "levels": levels,
    }
    for platform in PLATFORMS:
        mode = typed.get(f"counts.{platform}", FOLLOWERS)
        value = number(f"platform.{platform}", BOUNDS[mode])
        if value is not placeholder:
            weights["platforms" if mode == FOLLOWERS else "presence"][platform] = value
    data = {"name": typed.get("name", ""), "note": typed.get("note", ""), "weights": weights}
    if errors:
        # The groups whose boxes all read can still say what is wrong with them as a whole.
        for name, values, keys in (("combined", combined, COMPONENTS), ("levels", levels, LEVELS)):
            if len(values) == len(keys):
                _group_error(name, {"weights": {name: values}}, errors)
        for name in ("name", "note"):
            _field_error(name, data, errors)
        return None, errors
    try:
        return WeightSetIn.model_validate(data), {}
    except ValidationError as exc:
        for key, message in field_errors(exc).items():
            key = key.removeprefix("weights.") if key != "weights" else "__all__"
            errors.setdefault(key, message)
        return None, errors


def _group_error(name: str, data: dict[str, Any], errors: dict[str, str]) -> None:
    schema: type[ComponentWeights | LevelThresholds]
    schema = ComponentWeights if name == "combined" else LevelThresholds
    try:
        schema.model_validate(data["weights"][name])
    except ValidationError as exc:
        errors.setdefault(name, next(iter(field_errors(exc).values())))


def _field_error(name: str, data: dict[str, Any], errors: dict[str, str]) -> None:
    try:
        WeightSetIn.model_validate({name: data[name]})
    except ValidationError as exc:
        found = field_errors(exc)
        if name in found:
            errors.setdefault(name, found[name])


# ---- a version's values against the active one ------------------------------------------------


@dataclass
class ValueRow:
    group: str
    name: str
    value: float
    active: float | None  # the active version's value (None when this is the active version)
    mode: str = ""  # platforms: followers or presence
    active_mode: str = ""

    @property
    def changed(self) -> bool:
        return self.active is not None and (abs(self.value - self.active) > 1e-9 or self.mode != self.active_mode)


@dataclass
class ValueGroup:
    name: str
    rows: list[ValueRow] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(1 for row in self.rows if row.changed)


def value_groups(weights: dict[str, Any], active: dict[str, Any] | None) -> list[ValueGroup]:
    """Every value of a version, grouped as on the form, each beside the active version's."""
    def rows(group: str, names: list[str] | tuple[str, ...], read: Any) -> ValueGroup:
        found = ValueGroup(group)
        for name in names:
            value, mode = read(weights, name)
            before, before_mode = read(active, name) if active is not None else (None, "")
            found.rows.append(ValueRow(group, name, value, before, mode, before_mode))
        return found

    def platform(w: dict[str, Any], name: str) -> tuple[float, str]:
        if name in w["presence"]:
            return float(w["presence"][name]), PRESENCE
        return float(w["platforms"].get(name, 1.0)), FOLLOWERS

    return [
        rows("combined", COMPONENTS, lambda w, n: (float(w["combined"][n]), "")),
        rows("kinds", KINDS, lambda w, n: (float(w["kinds"].get(n, 0.0)), "")),
        rows("tone", ("sentiment", "monthly_decay"), lambda w, n: (float(w[n]), "")),
        rows("platforms", PLATFORMS, platform),
        rows("edges", EDGES, lambda w, n: (float(w["edges"].get(n, 1.0)), "")),
        rows("levels", LEVELS, lambda w, n: (float(w["levels"][n]), "")),
    ]


# ---- pages --------------------------------------------------------------------------------------


def _people(db: Any) -> dict[int, str]:
    return {user.id or 0: user.name for user in accounts.list_users(session=db)}


def _form_page(request: Request, values: dict[str, str], errors: dict[str, str], source: WeightSet | None,
               status_code: int = 200) -> Response:
    context = {"values": values, "errors": errors, "source": source, "kinds": KINDS, "platforms": PLATFORMS,
               "edges": EDGES, "components": COMPONENTS, "levels": LEVELS}
    return render(request, "ranking/weights_form.html", context, status_code=status_code)


def _detail_page(request: Request, db: Any, weight_set: WeightSet, *, error: str | None = None,
                 status_code: int = 200) -> Response:
    active = service.active_weight_set(session=db)
    context = {
        "ws": weight_set, "active": active, "people": _people(db), "error": error,
        "groups": value_groups(weight_set.weights, None if weight_set.active or active is None else active.weights),
    }
    return render(request, "ranking/weights_detail.html", context, status_code=status_code)


@router.get("/ranking/weights")
def weight_sets(request: Request, db: DB, user: CurrentUser) -> Response:
    context = {"sets": service.list_weight_sets(session=db), "people": _people(db)}
    return render(request, "ranking/weights.html", context)


@router.get("/ranking/weights/new")
def new_weight_set(request: Request, db: DB, user: WriterUser,
                   source_id: int | None = Query(default=None, alias="from", ge=1, le=MAX_ID)) -> Response:
    """The form, filled in from version `from` (by default the active one)."""
    source = service.get_weight_set(source_id, session=db) if source_id else service.active_weight_set(session=db)
    weights = source.weights if source else service.default_weights()
    return _form_page(request, {"name": "", "note": "", **form_values(weights)}, {}, source)


@router.post("/ranking/weights")
def create_weight_set(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    typed = typed_form(form)
    source_id = text(form, "from")
    source = service.get_weight_set(int(source_id), session=db) if source_id.isdigit() and len(source_id) < 10 else None
    data, errors = parse_form(typed)
    if data is None:
        return _form_page(request, typed, errors, source, status_code=422)
    try:
        created = service.create_weight_set(data, session=db, actor=actor_for(request, user))
    except Conflict:
        db.rollback()
        return _form_page(request, typed, {"__all__": gettext("Someone saved another version at the same moment; "
                                                              "save again.")}, source, status_code=409)
    db.commit()
    return redirect(request, f"/ranking/weights/{created.id}",
                    flash=gettext("Version %(version)d saved. Look at who would move, then activate it.")
                    % {"version": created.version})


@router.get("/ranking/weights/{weight_set_id}")
def weight_set_page(request: Request, db: DB, user: CurrentUser, weight_set_id: IdPath) -> Response:
    return _detail_page(request, db, service.get_weight_set(weight_set_id, session=db))


@router.get("/ranking/weights/{weight_set_id}/preview")
def weight_set_preview(request: Request, db: DB, user: CurrentUser, weight_set_id: IdPath) -> Response:
    """Who would move if this version were active: the block the version's page loads when it is
    ready (working it out recomputes everyone's scores twice), or a page of its own."""
    weight_set = service.get_weight_set(weight_set_id, session=db)
    context = {"ws": weight_set, "decimal": decimal, "level_label": level_label,
               "preview": None if weight_set.active else boards.preview(weight_set.weights, session=db)}
    return render(request, "ranking/weights_preview.html", context, block="preview")


@router.get("/ranking/weights/{weight_set_id}/activate")
def confirm_activation(request: Request, db: DB, user: WriterUser, weight_set_id: IdPath) -> Response:
    weight_set = service.get_weight_set(weight_set_id, session=db)
    if weight_set.active:
        return _detail_page(request, db, weight_set, error=_already_active(weight_set))
    return render(request, "ranking/weights_activate.html",
                  {"ws": weight_set, "active": service.active_weight_set(session=db)})


def _already_active(weight_set: WeightSet) -> str:
    return gettext("Version %(version)d is already the active one: nothing changed.") % {"version": weight_set.version}


@router.post("/ranking/weights/{weight_set_id}/activate")
def activate_weight_set(request: Request, db: DB, user: WriterUser, weight_set_id: IdPath) -> Response:
    """Make this version the one scores use (audited by the service) and queue a recompute."""
    try:
        activated = service.activate(weight_set_id, session=db, actor=actor_for(request, user))
        service.request_recompute(session=db, reason="weights")
    except Conflict:
        db.rollback()
        weight_set = service.get_weight_set(weight_set_id, session=db)
        message = (_already_active(weight_set) if weight_set.active
                   else gettext("Another version was activated at the same moment. Look at the versions and try again."))
        return _detail_page(request, db, weight_set, error=message, status_code=409)
    db.commit()
    return redirect(request, "/ranking", flash=gettext("Version %(version)d is active. Scores are being recomputed "
                                                      "with it; the leaderboard updates when that is done.")
                    % {"version": activated.version})


@router.get("/people/{profile_id}/score")
def score_page(request: Request, db: DB, user: CurrentUser, profile_id: IdPath) -> Response:
    """Why the person has their score: the profile page's panel on its own (htmx: just the panel)."""
    panel = score_panel(profile_id, session=db)
    return render(request, "profiles/score.html", {"score": panel, "p": panel.profile}, block="score")
