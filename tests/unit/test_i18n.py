"""Translations: the Spanish catalogue is complete, compiled and current, and pages come out in the
language the browser asks for. See "Translations" in the README for the pybabel commands."""

from __future__ import annotations

import ast
import gettext
import re
from collections.abc import Iterable
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from starlette.testclient import TestClient

from crm.i18n import LOCALES_DIR
from tests.factories import soup

ROOT = Path(__file__).resolve().parents[2]
POT = LOCALES_DIR / "messages.pot"
PO = LOCALES_DIR / "es" / "LC_MESSAGES" / "messages.po"
MO = LOCALES_DIR / "es" / "LC_MESSAGES" / "messages.mo"
HOW_TO_FIX = "see 'Translations' in the README: pybabel extract, update, translate, compile"

Msgid = str | tuple[str, ...]


def _read_po(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def _forms(value: object) -> tuple[str, ...]:
    """A message's id or string as a tuple: one item, or one per plural form."""
    items = value if isinstance(value, list | tuple) else (value,)  # read_mo gives plurals as lists
    return tuple(str(item or "") for item in items)


def _key(value: object) -> Msgid:
    forms = _forms(value)
    return forms[0] if len(forms) == 1 and not isinstance(value, list | tuple) else forms


def _translations(catalog: Catalog) -> dict[Msgid, Msgid]:
    return {_key(m.id): _key(m.string) for m in catalog if m.id}


def _extracted() -> set[Msgid]:
    """What `pybabel extract -F babel.cfg` finds in the sources today, without writing anything."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f, "babel.cfg")
    found: set[Msgid] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        found.add(message)
    return found


def _names(ids: Iterable[object]) -> str:
    return "\n  ".join(sorted(repr(i) for i in ids))


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\((\w+)\)", text))


# ---- the catalogue -----------------------------------------------------------------------------


def test_plural_forms_are_spanish() -> None:
    catalog = _read_po(PO)
    assert str(catalog.locale) == "es"
    assert catalog.plural_forms == "nplurals=2; plural=(n != 1);"


def test_every_message_is_translated_and_not_fuzzy() -> None:
    catalog = _read_po(PO)
    untranslated: set[Msgid] = set()
    fuzzy: set[Msgid] = set()
    for message in catalog:
        if not message.id:
            continue
        forms = _forms(message.string)
        if not all(forms) or (message.pluralizable and len(forms) != catalog.num_plurals):
            untranslated.add(_key(message.id))
        if message.fuzzy:
            fuzzy.add(_key(message.id))
    assert not untranslated, f"{PO.name} has messages with no (or not every plural) msgstr:\n  {_names(untranslated)}"
    assert not fuzzy, f"{PO.name} has fuzzy messages (check them, then drop the flag):\n  {_names(fuzzy)}"


def test_translations_keep_their_placeholders() -> None:
    """A translation that drops or renames %(name)s would raise KeyError (or lose data) at render time."""
    catalog = _read_po(PO)
    problems = [f"{m.id!r}: {errors}" for m, errors in catalog.check()]
    for message in catalog:
        if not message.id:
            continue
        wanted = set().union(*(_placeholders(i) for i in _forms(message.id)))
        for string in _forms(message.string):
            if _placeholders(string) != wanted:
                problems.append(f"{message.id!r} -> {string!r}")
    assert not problems, "placeholders differ:\n  " + "\n  ".join(problems)


def test_compiled_catalogue_is_not_stale() -> None:
    """The shipped .mo says exactly what compiling the .po says now (the app has no build step)."""
    compiled = BytesIO()
    write_mo(compiled, _read_po(PO))
    compiled.seek(0)
    expected = _translations(read_mo(compiled))
    with MO.open("rb") as f:
        shipped = _translations(read_mo(f))
    missing = set(expected) - set(shipped)
    changed = {k for k in set(expected) & set(shipped) if expected[k] != shipped[k]}
    extra = set(shipped) - set(expected)
    assert not missing, f"{MO.name} lacks messages that the .po has ({HOW_TO_FIX}):\n  {_names(missing)}"
    assert not changed, f"{MO.name} has old translations of ({HOW_TO_FIX}):\n  {_names(changed)}"
    assert not extra, f"{MO.name} has messages that the .po no longer has ({HOW_TO_FIX}):\n  {_names(extra)}"


def test_the_app_loads_the_spanish_catalogue() -> None:
    """gettext finds the .mo where crm.templating looks (fallback=False: a miss raises here instead of showing English)."""
    spanish = gettext.translation("messages", localedir=LOCALES_DIR, languages=["es"])
    assert spanish.gettext("People") == "Personas"
    assert spanish.ngettext("%(num)d person", "%(num)d people", 1) == "%(num)d persona"
    assert spanish.ngettext("%(num)d person", "%(num)d people", 2) == "%(num)d personas"


# ---- the catalogue against the sources ---------------------------------------------------------


def test_template_is_current() -> None:
    extracted = _extracted()
    in_pot = set(_translations(_read_po(POT)))
    assert extracted, "babel.cfg extracted nothing"
    new, gone = extracted - in_pot, in_pot - extracted
    assert not new, f"strings in the sources are missing from {POT.name} ({HOW_TO_FIX}):\n  {_names(new)}"
    assert not gone, f"{POT.name} still has strings the sources no longer use ({HOW_TO_FIX}):\n  {_names(gone)}"


def test_every_source_string_has_a_spanish_translation() -> None:
    in_po = _translations(_read_po(PO))
    missing = {i for i in _extracted() if not in_po.get(i)}
    assert not missing, f"strings in the sources have no Spanish translation in {PO.name} ({HOW_TO_FIX}):\n  {_names(missing)}"


def _label(value: str) -> str:
    """What the `label` filter in crm/templating.py looks up."""
    return value.replace("_", " ").capitalize()


def _headline_labels() -> set[str]:
    """The first argument of every Headline(...) in crm/interactions/service.py."""
    tree = ast.parse((ROOT / "crm" / "interactions" / "service.py").read_text())
    return {
        str(node.args[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "Headline"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def test_strings_translated_at_render_time_are_in_the_catalogue() -> None:
    """Enum labels, error titles and headlines reach templates as data; crm/i18n_labels.py
    marks them for extraction. This fails when an enum value or title is added without a marker there."""
    from crm.accounts.models import Role
    from crm.campaigns.models import CampaignStatus, KpiMetric, Stage
    from crm.i18n_labels import ALL
    from crm.interactions.models import InteractionKind, RelationshipKind
    from crm.listening.mentions import SentimentLabel
    from crm.listening.models import (
        AlertStatus,
        DeliveryChannel,
        DeliveryStatus,
        ReportPeriod,
        SignalPriority,
        SignalStatus,
        SignalType,
        TopicKind,
    )
    from crm.listening.priority import Standing
    from crm.profiles.models import ConsentBasis, Platform, ProfileRole, ProfileStatus
    from crm.recognition.models import (
        EntryKind,
        FlagKind,
        FlagStatus,
        HoldStatus,
        RecognitionKind,
        RedemptionStatus,
        RewardCategory,
    )
    from crm.web.errors import TITLES

    needed = {
        _label(m.value)
        for enum in (ProfileRole, ProfileStatus, Platform, ConsentBasis, InteractionKind, RelationshipKind, Role,
                     CampaignStatus, Stage, KpiMetric, EntryKind, HoldStatus, FlagKind, FlagStatus, RewardCategory,
                     RedemptionStatus, RecognitionKind, TopicKind, AlertStatus, DeliveryStatus, DeliveryChannel,
                     SignalType, SignalStatus, SignalPriority, ReportPeriod, Standing, SentimentLabel)
        for m in enum
        if m.value
    }
    needed |= {*TITLES.values(), "Error"}
    needed |= _headline_labels()
    assert _headline_labels(), "the scans found nothing: has that code moved?"

    unmarked = needed - set(ALL)
    assert not unmarked, f"add N_() markers to crm/i18n_labels.py for:\n  {_names(unmarked)}"
    in_po = _translations(_read_po(PO))
    missing = {s for s in needed if not in_po.get(s)}
    assert not missing, f"no Spanish translation in {PO.name} for:\n  {_names(missing)}"


# ---- pages -------------------------------------------------------------------------------------
# Sync routes (def, not async def) render in Starlette's threadpool; the locale is a contextvar set
# by crm/middleware.py in the request's task, so these also prove it is copied into the worker thread.


def _login_page(client: TestClient, accept_language: str):  # type: ignore[no-untyped-def]
    response = client.get("/login", headers={"Accept-Language": accept_language})
    assert response.status_code == 200
    return soup(response)


@pytest.mark.parametrize(
    ("accept_language", "lang", "heading", "button", "label"),
    [
        ("es-ES,es;q=0.9", "es", "Inicia sesión en Altavoz", "Iniciar sesión", "Contraseña"),
        ("es", "es", "Inicia sesión en Altavoz", "Iniciar sesión", "Contraseña"),
        ("en", "en", "Sign in to Altavoz", "Sign in", "Password"),
        ("en-GB,en;q=0.9,es;q=0.8", "en", "Sign in to Altavoz", "Sign in", "Password"),
        ("fr-FR,fr;q=0.9", "en", "Sign in to Altavoz", "Sign in", "Password"),
    ],
)
def test_login_page_speaks_the_browsers_language(
    client: TestClient, accept_language: str, lang: str, heading: str, button: str, label: str
) -> None:
    page = _login_page(client, accept_language)
    assert page.html is not None and page.html["lang"] == lang
    h1, submit = page.select_one("h1"), page.select_one("form button[type=submit]")
    password = page.select_one("label[for=f-password]")
    assert h1 is not None and submit is not None and password is not None
    assert h1.get_text(strip=True) == heading
    assert submit.get_text(strip=True) == button
    assert password.get_text(strip=True) == label
    assert page.title is not None and page.title.get_text(strip=True) == f"{button} · Altavoz"


def test_language_is_per_request(client: TestClient) -> None:
    """The contextvar is reset after each request: one Spanish request does not leak into the next."""
    assert _login_page(client, "es").select_one("h1").get_text(strip=True) == "Inicia sesión en Altavoz"  # type: ignore[union-attr]
    assert _login_page(client, "").select_one("h1").get_text(strip=True) == "Sign in to Altavoz"  # type: ignore[union-attr]
    assert _login_page(client, "es").select_one("h1").get_text(strip=True) == "Inicia sesión en Altavoz"  # type: ignore[union-attr]


def test_signed_in_pages_translate_labels_and_plurals(viewer_client: TestClient) -> None:
    viewer_client.headers["Accept-Language"] = "es-ES,es;q=0.9"
    page = soup(viewer_client.get("/people"))
    nav = [a.get_text(strip=True) for a in page.select("nav .mainnav a")]
    assert nav[:2] == ["Panel", "Personas"], nav
    assert page.select_one(".result-count").get_text(strip=True) == "0 personas"  # type: ignore[union-attr]
    roles = [o.get_text(strip=True) for o in page.select("select[name=role] option")]
    assert "Empleado embajador" in roles and "Cualquier rol" in roles, roles
    statuses = [o.get_text(strip=True) for o in page.select("select[name=status] option")]
    assert "No contactar" in statuses, statuses
    assert "Lector" in page.select_one(".topbar").get_text()  # type: ignore[union-attr]  # the Role label


def test_error_pages_are_translated(client: TestClient) -> None:
    page = soup(client.get("/no-such-page", headers={"Accept-Language": "es"}))
    assert page.select_one("h1").get_text(strip=True) == "Aquí no hay nada"  # type: ignore[union-attr]
    assert page.select_one(".error-page a[role=button]").get_text(strip=True) == "Volver al panel"  # type: ignore[union-attr]


def test_server_error_page_is_translated(app) -> None:  # type: ignore[no-untyped-def]
    @app.get("/test-only-boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/test-only-boom", headers={"Accept-Language": "es"})
    assert response.status_code == 500
    assert soup(response).select_one("h1").get_text(strip=True) == "Algo ha fallado por nuestra parte"  # type: ignore[union-attr]


def test_messages_from_services_and_flashes_follow_the_language(client: TestClient) -> None:
    from tests.factories import csrf_token

    token = csrf_token(client)
    response = client.post(
        "/login", data={"email": "nobody@example.com", "password": "x", "csrf_token": token},
        headers={"Accept-Language": "es"},
    )
    assert response.status_code == 401
    alert = soup(response).select_one("[role=alert]")
    assert alert is not None and "no corresponden a ninguna cuenta activa" in alert.get_text()
    api = client.get("/api/v1/profiles", headers={"Accept-Language": "es"})
    assert api.json()["detail"] == "Inicia sesión o envía un token de API."
