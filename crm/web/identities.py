"""HTML routes and form helpers for quick identity entry: a pasted profile link fills its row, and a
box of links (one per line) fills several rows at once. Both read links with the identity schema
(crm.profiles.models.IdentityIn, through crm.profiles.identity_urls), so what a row shows is what
saving it will store. Nothing here touches the network or the database."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from crm.deps import WriterUser
from crm.i18n import gettext
from crm.profiles.identity_urls import fill_identity
from crm.profiles.models import IdentityIn, Platform
from crm.templating import is_fragment_request, render
from crm.web.common import field_errors, redirect
from crm.web.forms import field_kind, shown_values, typed_values

router = APIRouter(prefix="/people")

MAX_ROWS = 100  # rows a form holds (the schema takes 50 identities; the rest get its message)
MAX_LINKS = 50
MAX_LINKS_TEXT = 20_000  # characters of the links box read
LINK_FIELDS = ("platform", "handle", "url")


def blank_identity() -> dict[str, Any]:
    row = shown_values(IdentityIn, {})
    row["platform"] = ""  # "detect from the link"
    return row


def is_blank(row: dict[str, Any]) -> bool:
    """An identity row with nothing typed in (its platform select and checkbox aside) is ignored."""
    typed_in = ("text", "int", "float", "date")
    return not any(value for name, value in row.items()
                   if name in IdentityIn.model_fields and field_kind(IdentityIn.model_fields[name]) in typed_in)


def fill_row(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A typed row with its platform, handle and URL completed the way saving would, and the
    schema's message for a link it cannot read (keyed by field name). Other fields stay as typed."""
    link = {name: row[name] for name in LINK_FIELDS if row.get(name)}
    if not link.get("url"):
        return row, {}
    filled = {**row, **{name: str(value) for name, value in fill_identity(link).items() if name in LINK_FIELDS}}
    try:
        IdentityIn.model_validate({name: filled[name] for name in LINK_FIELDS if filled.get(name)})
    except ValidationError as exc:
        errors = {name: message for name, message in field_errors(exc).items() if name in ("url", "handle")}
        return filled, errors
    return filled, {}


def rows_for_links(rows: list[dict[str, Any]], links: str) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """A filled row per readable pasted link (one per line) that is not already among `rows`, the
    line each came from, and the lines that could not be read as profile links."""
    seen = {_link_key(row) for row in rows if not is_blank(row)}
    added: list[dict[str, Any]] = []
    sources: list[str] = []
    unread: list[str] = []
    lines = [line.strip() for line in links.splitlines() if line.strip()]
    for line in lines[:MAX_LINKS]:
        row, errors = fill_row({**blank_identity(), "url": line})
        if errors:
            unread.append(line)
        elif (key := _link_key(row)) not in seen:
            seen.add(key)
            added.append(row)
            sources.append(line)
    return added, sources, unread + lines[MAX_LINKS:]


def unread_links_message() -> str:
    return gettext("These lines are not profile links: correct or remove them.")


def _link_key(row: dict[str, Any]) -> tuple[str, str]:
    handle = str(row.get("handle") or "").casefold()
    return (str(row.get("platform") or ""), handle) if handle else ("url", str(row.get("url") or "").casefold())


def rows_from_form(form: FormData) -> list[dict[str, Any]]:
    """The identity rows a form sent, in their order ("identities-3-url" is row 3's URL)."""
    indices = sorted({int(key.split("-")[1]) for key in form
                      if key.startswith("identities-") and key.split("-")[1].isdigit() and len(key.split("-")[1]) <= 3})
    return [typed_values(IdentityIn, form, prefix=f"identities-{index}-") for index in indices[:MAX_ROWS]]


def _query_form(request: Request) -> FormData:
    items: list[tuple[str, str | UploadFile]] = list(request.query_params.multi_items())
    return FormData(items)


def _row_errors(index: int, errors: dict[str, str]) -> dict[str, str]:
    return {f"identities.{index}.{name}": message for name, message in errors.items()}


@router.get("/identity-fill")
def identity_fill(request: Request, user: WriterUser, index: int = 0) -> Response:
    """A row whose URL was just pasted or changed, back with its platform and handle filled in (htmx
    swaps the row); without htmx, the new-person form."""
    if not is_fragment_request(request):
        return redirect(request, "/people/new")
    index = max(0, min(index, MAX_ROWS - 1))
    form = _query_form(request)
    row = {**blank_identity(), **typed_values(IdentityIn, form, prefix=f"identities-{index}-")}
    row, errors = fill_row(row)
    context = {"index": index, "row": row, "errors": _row_errors(index, errors), "platforms": list(Platform)}
    return render(request, "profiles/_identity_row.html", context)


@router.get("/identity-links")
def identity_links(request: Request, user: WriterUser, links: str = "") -> Response:
    """The identity rows again, with a filled row for each pasted link (one per line) after those
    already typed and one blank row to finish with; the links box comes back with only the lines
    that are not profile links, and says so."""
    if not is_fragment_request(request):
        return redirect(request, "/people/new")
    rows = [row for row in rows_from_form(_query_form(request)) if not is_blank(row)]
    added, _, unread = rows_for_links(rows, links[:MAX_LINKS_TEXT])
    errors = {"links": unread_links_message()} if unread else {}
    context = {"rows": [*rows, *added, blank_identity()], "errors": errors, "platforms": list(Platform),
               "links": "\n".join(unread)}
    return render(request, "profiles/_identity_rows.html", context)
