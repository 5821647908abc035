"""What an import row may hold, per kind of record, and how a row becomes validated values.

Rows are validated by the API's schemas: ProfileIn and IdentityIn (crm.profiles.models) and
InteractionIn (crm.interactions.models). The import-only parts (external ids, the person an
interaction names by key or by platform + handle, relationship rows) are checked here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError

from crm.i18n import N_, gettext
from crm.interactions.models import InteractionIn, RelationshipKind
from crm.profiles.models import (
    HANDLE_MAX,
    IdentityFields,
    IdentityIn,
    Platform,
    ProfileFields,
    ProfileIn,
    normalise_handle,
    stored_values,
)


class Entity(StrEnum):
    people = "people"  # profiles, each with at most one identity per row
    interactions = "interactions"
    relationships = "relationships"


class Mode(StrEnum):
    skip_existing = "skip_existing"  # create what is new, leave what exists alone
    create_update = "create_update"  # create what is new, update what exists
    create_only = "create_only"  # create what is new, reject rows about what exists


ENTITY_LABELS = {
    Entity.people: N_("People and identities"),
    Entity.interactions: N_("Interactions"),
    Entity.relationships: N_("Relationships"),
}
MODE_LABELS = {
    Mode.skip_existing: N_("Create new, skip existing"),
    Mode.create_update: N_("Create new and update existing"),
    Mode.create_only: N_("Create only (reject rows about existing records)"),
}

# Profile fields as import columns ("team_member" reads better in a file than "is_team_member").
PROFILE_COLUMN = {"is_team_member": "team_member"}
PROFILE_FIELDS = tuple(f for f in ProfileFields.model_fields if f != "owner_id")
IDENTITY_FIELDS = tuple(IdentityFields.model_fields)
INTERACTION_FIELDS = ("kind", "channel", "occurred_at", "title", "body", "url", "reach", "engagements", "sentiment",
                      "campaign_id")  # campaign_id: the campaign's id (imported deliverables); checked when written

TARGETS: dict[Entity, tuple[str, ...]] = {
    Entity.people: ("key", *(PROFILE_COLUMN.get(f, f) for f in PROFILE_FIELDS), *IDENTITY_FIELDS),
    Entity.interactions: (
        "source", "external_id", "person_key", "person_platform", "person_handle", "person_name",
        *INTERACTION_FIELDS, "counterpart_key", "counterpart_platform", "counterpart_handle", "counterpart_name",
    ),
    Entity.relationships: (
        "source_key", "source_platform", "source_handle", "target_key", "target_platform", "target_handle",
        "kind", "strength", "first_seen", "last_seen",
    ),
}  # fmt: skip
REQUIRED: dict[Entity, tuple[str, ...]] = {
    Entity.people: (),  # a key, a name or a platform + handle: checked per row
    Entity.interactions: ("external_id", "kind", "occurred_at"),
    Entity.relationships: ("kind",),
}

# Header names that commonly mean a field (compared after lower-casing and turning spaces and
# dashes into underscores).
ALIASES: dict[Entity, dict[str, str]] = {
    Entity.people: {
        "id": "key", "external_id": "key", "profile_key": "key", "profile_id": "key",
        "name": "display_name", "full_name": "display_name", "nombre": "display_name",
        "username": "handle", "user": "handle", "login": "handle", "screen_name": "handle",
        "followers_count": "followers", "subscribers": "followers", "subscriber_count": "followers",
        "following_count": "following", "post_count": "posts", "posts_count": "posts", "tweet_count": "posts",
        "network": "platform", "site": "platform", "is_team_member": "team_member", "city": "location",
        "profile_url": "url", "link": "url", "usuario": "handle", "red": "platform", "plataforma": "platform",
        "seguidores": "followers", "ciudad": "location", "idioma": "language",
    },
    Entity.interactions: {
        "id": "external_id", "profile_key": "person_key", "person": "person_key", "author_key": "person_key",
        "platform": "person_platform", "handle": "person_handle", "username": "person_handle",
        "author": "person_handle", "name": "person_name", "type": "kind", "date": "occurred_at",
        "created_at": "occurred_at", "timestamp": "occurred_at", "time": "occurred_at", "link": "url",
        "likes": "engagements", "views": "reach", "impressions": "reach", "text": "body", "content": "body",
        "campaign": "campaign_id",
    },
    Entity.relationships: {
        "from": "source_key", "from_key": "source_key", "to": "target_key", "to_key": "target_key",
        "type": "kind", "weight": "strength",
    },
}  # fmt: skip


def suggest_mapping(entity: Entity, headers: list[str], remembered: dict[str, str] | None = None) -> dict[str, str]:
    """{field: column}: the remembered mapping where its columns are still there, else by name."""
    present = set(headers)
    mapping = {f: c for f, c in (remembered or {}).items() if c in present and f in TARGETS[entity]}
    used = set(mapping.values())
    for header in headers:
        if header in used:
            continue
        key = re.sub(r"[\s\-.]+", "_", header.strip().lower())
        target = key if key in TARGETS[entity] else ALIASES[entity].get(key)
        if target and target not in mapping:
            mapping[target] = header
            used.add(header)
    return mapping


class RowError(Exception):
    """This row is rejected; the message says why (in the user's words)."""


# ---- values -----------------------------------------------------------------------------------------

_DATE_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d", "%d.%m.%Y")


def parse_when(value: Any, name: str, tz: ZoneInfo | None = None) -> datetime | None:
    """A point in time from ISO 8601 (with Z, an offset, or none: then in `tz`), RFC 2822
    ("Tue, 04 Mar 2026 10:22:00 +0100"), a day ("2026-03-04", "04/03/2026": day first), or Unix
    seconds. Returned in UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, bool):
        raise RowError(gettext("%(field)s: %(value)s is not a date.") % {"field": name, "value": value})
    elif isinstance(value, int | float):
        parsed = _from_epoch(value, name)
    elif isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = _parse_other(text, name)
    else:
        raise RowError(gettext("%(field)s: %(value)s is not a date.") % {"field": name, "value": str(value)[:40]})
    if not 1900 <= parsed.year <= 2200:
        raise RowError(gettext("%(field)s: give a date between the years 1900 and 2200.") % {"field": name})
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz or UTC)
    return parsed.astimezone(UTC)


def _from_epoch(value: float, name: str) -> datetime:
    if not 0 <= value < 4_102_444_800:  # before 2100
        raise RowError(gettext("%(field)s: %(value)s is not a date.") % {"field": name, "value": value})
    return datetime.fromtimestamp(value, UTC)


def _parse_other(text: str, name: str) -> datetime:
    if text.isdigit():
        return _from_epoch(int(text), name)
    if "," in text and text[:3].isalpha():
        try:
            return parsedate_to_datetime(text)
        except (TypeError, ValueError):
            pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)  # noqa: DTZ007  (the zone is added by the caller)
        except ValueError:
            continue
    raise RowError(gettext("%(field)s: %(value)s is not a date we can read (use 2026-03-04T10:22:00+01:00).")
                   % {"field": name, "value": repr(text[:40])})


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _cells(data: dict[str, Any]) -> dict[str, Any]:
    """Empty cells mean "not given", so the schema's default applies."""
    return {k: v for k, v in data.items() if v is not None and v != ""}


def _listish(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in re.split(r"[;|]", value) if item.strip()]
    return value


def _counts_as_numbers(data: dict[str, Any], names: tuple[str, ...]) -> None:
    """Counts in files are often written "1,234" or "1 234"; JSON sources (YouTube) send strings."""
    for name in names:
        value = data.get(name)
        if isinstance(value, str):
            cleaned = value.strip().replace("\u00a0", "").replace(" ", "").replace("_", "")
            if re.fullmatch(r"-?\d{1,3}(,\d{3})+", cleaned):
                cleaned = cleaned.replace(",", "")
            data[name] = cleaned


def schema_error(exc: ValidationError, columns: dict[str, str] | None = None) -> str:
    """The first problem of a validation error, named by the file's column where we know it."""
    return _error_text(exc.errors()[0], columns)


def _error_text(error: Any, columns: dict[str, str] | None, *, skip: int = 0) -> str:
    loc = [str(part) for part in error["loc"][skip:]]
    field = loc[0] if loc else ""
    name = (columns or {}).get(field) or PROFILE_COLUMN.get(field, field)
    if error["type"] == "missing":
        return gettext("%(field)s is required.") % {"field": name}
    if error["type"] == "extra_forbidden":
        return gettext("%(field)s is not a field we know.") % {"field": name}
    reason = str(error["msg"]).removeprefix("Value error, ")
    shown = str(error.get("input", ""))[:60]
    return f"{name} {shown!r}: {reason}"


# ---- rows -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PersonRef:
    key: str = ""  # external id in the import's source
    platform: str = ""
    handle: str = ""  # as written
    handle_key: str = ""
    name: str = ""

    @property
    def given(self) -> bool:
        return bool(self.key or self.handle_key)

    def label(self) -> str:
        return self.key or f"{self.platform}:{self.handle}"


@dataclass(slots=True)
class PersonRow:
    line: int
    ref: PersonRef
    profile: dict[str, Any]  # the profile columns the row gives (validated by ProfileIn)
    identity: dict[str, Any] | None  # validated by IdentityIn, with handle_key


@dataclass(slots=True)
class InteractionRow:
    line: int
    person: PersonRef
    counterpart: PersonRef | None
    values: dict[str, Any]


@dataclass(slots=True)
class RelationshipRow:
    line: int
    source: PersonRef
    target: PersonRef
    values: dict[str, Any]


def _ref(data: dict[str, Any], prefix: str, *, what: str) -> PersonRef:
    key = _text(data.get(f"{prefix}_key"))
    platform = _text(data.get(f"{prefix}_platform")).lower()
    handle = _text(data.get(f"{prefix}_handle"))
    name = _text(data.get(f"{prefix}_name"))[:200]
    if len(key) > 200:
        raise RowError(gettext("%(field)s is longer than 200 characters.") % {"field": f"{prefix}_key"})
    handle_key = ""
    if handle or platform:
        if not handle or not platform:
            raise RowError(gettext("%(what)s: give both the platform and the handle.") % {"what": what})
        if platform not in Platform.__members__.values():
            raise RowError(gettext("%(what)s: %(platform)s is not a platform we know.")
                           % {"what": what, "platform": repr(platform)})
        handle_key = normalise_handle(platform, handle)
        if not handle_key or len(handle_key) > HANDLE_MAX or len(handle) > HANDLE_MAX:
            raise RowError(gettext("%(what)s: %(handle)s is not a usable handle.") % {"what": what, "handle": repr(handle)})
    return PersonRef(key, platform, handle, handle_key, name)


def person_row(line: int, data: dict[str, Any], tz: ZoneInfo | None = None) -> PersonRow:
    named = "display_name" in data and not data.get("handle")  # a file of profiles: each needs its name
    data = _cells(data)
    if named and "display_name" not in data:
        raise RowError(gettext("%(field)s is required.") % {"field": "display_name"})
    key = _text(data.get("key"))
    if len(key) > 200:
        raise RowError(gettext("%(field)s is longer than 200 characters.") % {"field": "key"})
    identity: dict[str, Any] | None = None
    ref = PersonRef(key=key)
    if "platform" in data or "handle" in data:
        raw = {f: data[f] for f in IDENTITY_FIELDS if f in data}
        if isinstance(raw.get("platform"), str):
            raw["platform"] = raw["platform"].strip().lower()
        _counts_as_numbers(raw, ("followers", "following", "posts"))
        try:
            checked = IdentityIn.model_validate(raw)
        except ValidationError as exc:
            raise RowError(schema_error(exc)) from None
        identity = stored_values(checked, IDENTITY_FIELDS)
        identity["handle_key"] = normalise_handle(checked.platform.value, checked.handle)
        ref.platform, ref.handle, ref.handle_key = checked.platform.value, checked.handle, identity["handle_key"]
    columns = {PROFILE_COLUMN.get(f, f): f for f in PROFILE_FIELDS}
    given = {columns[c]: data[c] for c in columns if c in data}
    if not ref.given and "display_name" not in given:
        raise RowError(gettext("Each row needs a key, a name, or a platform and handle."))
    for name in ("roles", "topics", "tags"):
        if name in given:
            given[name] = _listish(given[name])
    if "consent_date" in given and isinstance(given["consent_date"], str):
        when = parse_when(given["consent_date"], "consent_date", tz)
        given["consent_date"] = when.date() if when else None
    profile: dict[str, Any] = {}
    if given:
        try:
            checked_profile = ProfileIn.model_validate({"display_name": ref.handle or key or "?", **given})
        except ValidationError as exc:
            raise RowError(schema_error(exc, {v: k for k, v in columns.items()})) from None
        profile = stored_values(checked_profile, given)
    ref.name = profile.get("display_name", "")
    return PersonRow(line, ref, profile, identity)


_INTERACTION_ONLY = ("source", "external_id")
# The API's schema over a whole batch: one call validates thousands of rows (crm.interactions.models).
_INTERACTION_BATCH: TypeAdapter[list[InteractionIn]] = TypeAdapter(list[InteractionIn])
_REF_FIELDS = {prefix: (f"{prefix}_key", f"{prefix}_platform", f"{prefix}_handle", f"{prefix}_name")
               for prefix in ("person", "counterpart", "source", "target")}


def _given(value: Any) -> bool:
    return value is not None and value != ""


def _interaction_parts(data: dict[str, Any], default_source: str, tz: ZoneInfo | None,
                       refs: dict[Any, PersonRef | str] | None = None
                       ) -> tuple[str, str, PersonRef, PersonRef | None, dict[str, Any]]:
    """The import-only checks of one interaction row and the fields the schema will validate.
    `refs` memoises the people rows name (a file names the same few people over and over)."""
    missing = [f for f in REQUIRED[Entity.interactions] if not _given(data.get(f))]
    if missing:
        raise RowError(gettext("Missing %(fields)s.") % {"fields": ", ".join(missing)})
    source = _text(data.get("source")) or default_source
    external_id = _text(data["external_id"])
    if len(source) > 50 or len(external_id) > 200:
        raise RowError(gettext("source or external_id is too long."))
    person = _cached_ref(data, "person", refs)
    if not person.given:
        raise RowError(gettext("Name the person: person_key, or person_platform and person_handle."))
    counterpart = _cached_ref(data, "counterpart", refs)
    fields = {}
    for name in INTERACTION_FIELDS:
        value = data.get(name)
        if value is not None and value != "":
            fields[name] = value
    fields["occurred_at"] = parse_when(fields["occurred_at"], "occurred_at", tz)
    kind = fields.get("kind")
    if isinstance(kind, str):
        fields["kind"] = kind.strip().lower()
    _counts_as_numbers(fields, ("reach", "engagements"))
    return source, external_id, person, counterpart if counterpart.given else None, fields


def _cached_ref(data: dict[str, Any], prefix: str, refs: dict[Any, PersonRef | str] | None) -> PersonRef:
    names = _REF_FIELDS[prefix]
    get = data.get
    memo = (prefix, get(names[0]), get(names[1]), get(names[2]), get(names[3]))
    try:
        found = refs.get(memo) if refs is not None else None
    except TypeError:  # a list or an object where text was expected: no memo (and an error below)
        refs = None
        found = None
    if found is None:
        try:
            found = _ref(_cells({n: get(n) for n in names}), prefix, what=_WHAT[prefix]())
        except RowError as exc:
            found = str(exc)
        if refs is not None:
            refs[memo] = found
    if isinstance(found, str):
        raise RowError(found)
    return found


_WHAT = {"person": lambda: gettext("person"), "counterpart": lambda: gettext("counterpart"),
         "source": lambda: gettext("source"), "target": lambda: gettext("target")}


def _interaction_values(checked: InteractionIn, source: str, external_id: str) -> dict[str, Any]:
    return {
        "kind": checked.kind.value, "channel": checked.channel, "occurred_at": checked.occurred_at,
        "title": checked.title, "body": checked.body, "url": checked.url, "reach": checked.reach,
        "engagements": checked.engagements, "sentiment": checked.sentiment, "campaign_id": checked.campaign_id,
        "source": source, "external_id": external_id,
    }  # fmt: skip


def interaction_row(line: int, data: dict[str, Any], default_source: str, tz: ZoneInfo | None = None) -> InteractionRow:
    source, external_id, person, counterpart, fields = _interaction_parts(data, default_source, tz)
    try:
        checked = InteractionIn.model_validate(fields)
    except ValidationError as exc:
        raise RowError(schema_error(exc)) from None
    return InteractionRow(line, person, counterpart, _interaction_values(checked, source, external_id))


def interaction_rows(records: Sequence[tuple[int, dict[str, Any]]], default_source: str, tz: ZoneInfo | None = None
                     ) -> tuple[list[InteractionRow], list[tuple[int, dict[str, Any], str]]]:
    """interaction_row over many records at once: the schema validates the whole batch in one call
    (the same InteractionIn, the same messages). Returns the rows and the (line, data, reason) of
    each rejected record, in file order."""
    refs: dict[Any, PersonRef | str] = {}
    parts: list[tuple[int, dict[str, Any], str, str, PersonRef, PersonRef | None]] = []
    fields: list[dict[str, Any]] = []
    errors: list[tuple[int, dict[str, Any], str]] = []
    for line, data in records:
        try:
            source, external_id, person, counterpart, given = _interaction_parts(data, default_source, tz, refs)
        except RowError as exc:
            errors.append((line, data, str(exc)))
            continue
        parts.append((line, data, source, external_id, person, counterpart))
        fields.append(given)
    bad: dict[int, str] = {}
    try:
        checked = _INTERACTION_BATCH.validate_python(fields)
    except ValidationError as exc:
        for error in exc.errors():
            index = error["loc"][0]
            if isinstance(index, int) and index not in bad:
                bad[index] = _error_text(error, None, skip=1)
        checked = _INTERACTION_BATCH.validate_python([f for n, f in enumerate(fields) if n not in bad])
    rows: list[InteractionRow] = []
    good = iter(checked)
    for n, (line, data, source, external_id, person, counterpart) in enumerate(parts):
        if n in bad:
            errors.append((line, data, bad[n]))
        else:
            rows.append(InteractionRow(line, person, counterpart, _interaction_values(next(good), source, external_id)))
    if bad:
        errors.sort(key=lambda e: e[0])
    return rows, errors


def relationship_row(line: int, data: dict[str, Any], tz: ZoneInfo | None = None) -> RelationshipRow:
    data = _cells(data)
    source = _ref(data, "source", what=gettext("source"))
    target = _ref(data, "target", what=gettext("target"))
    if not source.given or not target.given:
        raise RowError(gettext("Name both people: source_key / target_key, or platform and handle."))
    kind = _text(data.get("kind")).lower()
    if kind not in RelationshipKind.__members__.values():
        raise RowError(gettext("kind %(kind)s is not one of %(allowed)s.")
                       % {"kind": repr(kind), "allowed": ", ".join(k.value for k in RelationshipKind)})
    strength: Any = data.get("strength", 1.0)
    try:
        strength = float(strength)
    except (TypeError, ValueError):
        raise RowError(gettext("strength must be a number from 0 to 1.")) from None
    if not 0 <= strength <= 1:
        raise RowError(gettext("strength must be a number from 0 to 1."))
    first_seen = parse_when(data.get("first_seen"), "first_seen", tz)
    last_seen = parse_when(data.get("last_seen"), "last_seen", tz)
    if first_seen and last_seen and first_seen > last_seen:
        raise RowError(gettext("first_seen is after last_seen."))
    values = {"kind": kind, "strength": strength, "first_seen": first_seen, "last_seen": last_seen}
    return RelationshipRow(line, source, target, values)


def shift_values(values: dict[str, Any], names: tuple[str, ...], delta: timedelta) -> None:
    for name in names:
        if isinstance(values.get(name), datetime):
            values[name] = values[name] + delta


def as_date(value: Any) -> date | None:
    return value if isinstance(value, date) else None
