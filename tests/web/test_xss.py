"""Stored and reflected XSS: whatever a person types is shown as text, never as markup.

Script, event-handler, attribute-breakout, htmx-attribute and template payloads go into every text
field a person can type — through the HTML form (fields read from the form page itself, so a renamed
or added field is covered without editing this file), through the JSON API (fields read from the
OpenAPI schema), in Settings (user name and e-mail, API token name, browser user agent), on the
login form (a failed login's e-mail lands in the audit log) and through an import (the seed loader
reads the same formats as real imports). Then every page that shows them is parsed with
BeautifulSoup and must contain no element, attribute or script that came from the payload, while
the payload itself is visible as text.

Adding `|safe` to any of these fields in a template makes a test here fail.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from bs4 import BeautifulSoup, Tag
from sqlmodel import Session, select
from starlette.testclient import TestClient

from crm.accounts.models import User
from crm.db import utcnow
from crm.imports.seed_loader import load_seed
from crm.profiles.models import Profile
from crm.resources import share_dir
from tests.factories import make_profile, sign_in, soup

HX = {"HX-Request": "true"}

PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "img-onerror": '"><img src=x onerror=alert(1)>',
    "single-quote-handler": "' onmouseover='alert(1)",
    "svg-onload": "<svg/onload=alert(1)>",
    "template": "{{7*7}}",
    "textarea-breakout": "</textarea><script>alert(1)</script>",
    "title-breakout": "</title><script>alert(1)</script>",
    "htmx-attributes": '" hx-get="/evil" hx-trigger="load',
    "htmx-on": "' hx-on:click='alert(1)",
}
# For a field that holds only a few characters (a language code): breaks out of both quote styles.
SHORT = "\"'><i onclick=1>"
# Valid e-mail addresses (no quoting) that would still break out of an attribute or evaluate.
EMAIL_PAYLOADS = (
    "x'/onmouseover='alert`1`'@example.com",
    "{{7*7}}@example.com",
    "x'hx-get='/evil'hx-trigger='load'@example.com",
)
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
UNSAFE_URLS = (
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "  javascript:alert(1)",
    "java\tscript:alert(1)",
    "javascript://example.com/%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
)
PASSWORD_FOR_NEW_USERS = "a long enough password"


# ---- what an injection would leave behind --------------------------------------------------------


@cache
def template_tags() -> frozenset[str]:
    """Every element name the templates write; anything else in a page came from data."""
    names: set[str] = set()
    for path in share_dir("templates").rglob("*"):
        if path.is_file():
            names.update(n.lower() for n in re.findall(r"<([a-zA-Z][a-zA-Z0-9-]*)", path.read_text(encoding="utf-8")))
    return frozenset(names)


_CONTEXTS = (
    '<p title="{}"></p>', "<p title='{}'></p>", "<p title={}></p>", "<p>{}</p>",
    "<textarea>{}</textarea>", "<title>{}</title>", '<a href="https://e.example/{}">x</a>',
)  # fmt: skip


def _flat(value: Any) -> str:
    return " ".join(value) if isinstance(value, list) else str(value)


@cache
@lru_cache(maxsize=1)
def template_attributes() -> frozenset[tuple[str, str]]:
    """Attributes the templates write with a constant value (hx-trigger="load" on a lazy widget): finding
    one in a page says nothing about data. The payloads' dangerous parts (hx-get="/evil", handlers) are
    in no template."""
    pairs: set[tuple[str, str]] = set()
    for path in share_dir("templates").rglob("*.html"):
        for name, value in re.findall(r'\s([a-zA-Z][\w:.-]*)="([^"{}]*)"', path.read_text(encoding="utf-8")):
            pairs.add((name.lower(), value))
    return frozenset(pairs)


def fingerprints(value: str) -> tuple[frozenset[tuple[str, str]], tuple[tuple[str, tuple[tuple[str, str], ...]], ...]]:
    """The attributes and elements `value` creates when pasted unescaped into the usual contexts
    (quoted and unquoted attributes, text, textarea, title, href): those must never be in a page."""
    attrs: set[tuple[str, str]] = set()
    elements: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    for context in _CONTEXTS:
        doc = BeautifulSoup(context.replace("{}", value), "html.parser")
        first = doc.find(True)
        for el in doc.find_all(True):
            own = ("title", "href") if el is first else ()
            extra = tuple((k.lower(), _flat(v)) for k, v in el.attrs.items() if k not in own)
            attrs.update(extra)
            if el is not first and el.name not in ("p", "textarea", "title", "a"):
                elements.append((el.name, extra))
    return frozenset(attrs), tuple(elements)


def assert_inert(response_or_html: Any, typed: Iterable[str], where: str) -> BeautifulSoup:
    """No element, attribute or script in the page came from what was typed."""
    page = soup(response_or_html)
    values = [v for v in typed if v]
    bad_attrs: set[tuple[str, str]] = set()
    bad_elements: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    for value in [*values, *PAYLOADS.values(), SHORT]:
        a, e = fingerprints(value)
        bad_attrs |= a
        bad_elements += [x for x in e if x[1]]
    bad_attrs -= template_attributes()
    known = template_tags()
    problems: list[str] = []
    for el in page.find_all(True):
        if el.name not in known:
            problems.append(f"a <{el.name}> element, which no template writes: {str(el)[:120]}")
        if el.name == "script" and (not el.get("src") or el.get_text().strip()):
            problems.append(f"an inline script: {str(el)[:120]}")
        for name, raw in el.attrs.items():
            lname, value = name.lower(), _flat(raw)
            if lname.startswith("on"):
                problems.append(f"an event-handler attribute {name}={value!r} on <{el.name}>")
            if (lname, value) in bad_attrs:
                problems.append(f"the injected attribute {name}={value!r} on <{el.name}>")
            if lname.startswith(("hx-", "data-hx-")) and (
                "alert(" in value or "alert`" in value or '"/evil' in value or any(v in value for v in values)
            ):
                problems.append(f"typed text inside the htmx attribute {name}={value!r}")
            if lname in ("href", "src", "action", "formaction", "hx-get", "hx-post") and _dangerous_url(value):
                problems.append(f"a {value!r} URL in {name} on <{el.name}>")
        for tag, fp in bad_elements:
            if el.name == tag and all(_flat(el.attrs.get(k, "\0")) == v for k, v in fp):
                problems.append(f"the injected element {str(el)[:120]}")
    text = page.get_text()
    for value in values:
        if "{{7*7}}" in value:
            evaluated = value.replace("{{7*7}}", "49")
            if evaluated in text or any(evaluated in _flat(v) for el in page.find_all(True) for v in el.attrs.values()):
                problems.append(f"{value!r} was evaluated as a template ({evaluated!r} shown)")
    assert not problems, f"{where}: " + "; ".join(dict.fromkeys(problems))
    return page


def _dangerous_url(value: str) -> bool:
    """The way a browser reads a URL's scheme: control characters and spaces around and tabs/newlines inside are dropped."""
    cleaned = re.sub(r"[\t\n\r]", "", value).strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13"
                                                    "\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ").lower()
    return cleaned.startswith(DANGEROUS_SCHEMES)


def shows_text(page: BeautifulSoup, value: str) -> bool:
    return value in page.get_text()


def flash_text(page: BeautifulSoup) -> str:
    flashes = page.select(".flash")
    assert flashes, "no flash message on the page"
    return " ".join(f.get_text() for f in flashes)


def attribute_values(page: BeautifulSoup) -> list[str]:
    return [_flat(v) for el in page.find_all(True) for v in el.attrs.values()]


def check(client: TestClient, url: str, typed: Iterable[str], where: str, *, status: int = 200,
          headers: dict[str, str] | None = None) -> BeautifulSoup:
    response = client.get(url, headers=headers or {})
    assert response.status_code == status, f"{where}: GET {url} answered {response.status_code}: {response.text[:300]}"
    return assert_inert(response, typed, where)


# ---- reading forms the way a browser does ----------------------------------------------------------


def post_form(page: BeautifulSoup, action: str | None = None) -> Tag:
    """The page's main POST form (the one with the most fields), or the one posting to `action`."""
    forms = [f for f in page.select("main form") if (f.get("method") or "get").lower() == "post"]
    if action is not None:
        forms = [f for f in forms if f.get("action") == action]
    assert forms, f"no POST form{' to ' + action if action else ''} on the page"
    return max(forms, key=lambda f: len(f.select("input, textarea, select")))


def is_text_field(el: Tag) -> bool:
    if el.name == "textarea":
        return True
    kind = str(el.get("type") or "text").lower()
    return el.name == "input" and kind in ("text", "search", "email", "url", "tel") and el.get("inputmode") not in (
        "numeric", "decimal")


def is_url_field(el: Tag) -> bool:
    return str(el.get("type") or "") == "url" or str(el["name"]).lower().endswith("url") or str(
        el.get("placeholder") or "").startswith(("http://", "https://"))


def shown_value(el: Tag) -> str:
    return el.get_text() if el.name == "textarea" else str(el.get("value") or "")


@dataclass
class Filled:
    data: dict[str, list[str]] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)  # text field name -> what was typed
    elements: dict[str, Tag] = field(default_factory=dict)

    def put(self, name: str, value: str) -> None:
        self.data[name] = [value]
        self.typed[name] = value


def fill(form: Tag, value_for: Callable[[Tag, int], str | None], *, check_all: bool) -> Filled:
    """Every field of `form`: text fields get value_for(field, n) (None keeps the shown value), the
    rest what a browser would send (all boxes ticked with check_all, else the ticked ones)."""
    out = Filled()
    for el in form.select("input[name], textarea[name], select[name]"):
        name = str(el["name"])
        kind = str(el.get("type") or "text").lower()
        if el.name == "select":
            option = el.select_one("option[selected]") or el.select_one("option")
            if option is not None:
                out.data.setdefault(name, []).append(str(option.get("value", option.get_text())))
        elif is_text_field(el):
            value = value_for(el, len(out.typed) + 1)
            value = shown_value(el) if value is None else value
            out.data.setdefault(name, []).append(value)
            out.typed[name] = value
            out.elements[name] = el
        elif kind in ("checkbox", "radio"):
            if (check_all and not (kind == "radio" and name in out.data)) or (not check_all and el.has_attr("checked")):
                out.data.setdefault(name, []).append(str(el.get("value", "on")))
        elif kind not in ("submit", "button", "reset", "image", "file"):
            out.data.setdefault(name, []).append(shown_value(el))
    return out


def payload_values(payload: str) -> Callable[[Tag, int], str]:
    def value_for(el: Tag, n: int) -> str:
        return f"https://example.com/~{n}?{payload}" if is_url_field(el) else f"{payload} ~{n}"

    return value_for


# ---- a profile holding the payloads, and every page that shows it ---------------------------------


@dataclass
class Stored:
    profile_id: int
    name: str
    texts: list[str]  # typed values shown as text
    urls: list[str]  # typed values shown as links
    handles: list[str]
    topics: list[str]

    @property
    def typed(self) -> list[str]:
        return [*self.texts, *self.urls]


def _profile_id(response: Any) -> int:
    """The person a successful save redirects to: 303 for a plain form, HX-Redirect for htmx."""
    assert response.status_code in (303, 204), response.text[:500]
    target = response.headers["location"] if response.status_code == 303 else response.headers["hx-redirect"]
    match = re.fullmatch(r"/people/(\d+)", target)
    assert match, target
    return int(match.group(1))


def _invalid_names(page: BeautifulSoup) -> set[str]:
    return {str(el["name"]) for el in page.select("[aria-invalid=true][name]")}


def create_through_form(client: TestClient, payload: str) -> Stored:
    """Fill every text field of the new-person form with the payload; a field that cannot hold it
    (too short, wrong format) gets the short payload, and is left out only if it refuses that too."""
    form = post_form(soup(client.get("/people/new")))
    action = str(form.get("action") or "/people")
    filled = fill(form, payload_values(payload), check_all=True)
    refused: set[str] = set()
    for attempt in range(3):
        # First as htmx sends it (a 422 is swapped in as a fragment), then as a plain form.
        response = client.post(action, data=filled.data, headers=HX if attempt == 0 else {})
        if response.status_code == 422 and attempt == 0:
            _check_form_errors(response, filled, "new-person form re-shown with errors, fragment")
            response = client.post(action, data=filled.data)
        if response.status_code != 422:
            break
        page = _check_form_errors(response, filled, "new-person form re-shown with errors")
        invalid = _invalid_names(page) & set(filled.typed)
        assert invalid, f"422 without a field marked invalid: {page.get_text(' ', strip=True)[:400]}"
        for n, name in enumerate(sorted(invalid), start=90):
            if attempt == 0:
                filled.put(name, f"{SHORT} ~{n}")
            else:
                filled.put(name, "")
                refused.add(name)
    profile_id = _profile_id(response)
    kept = {k: v for k, v in filled.typed.items() if k not in refused and v}
    assert len(kept) >= 5, f"too few text fields kept a payload: {kept}, refused {refused}"
    name_field = next((n for n, el in filled.elements.items() if el.has_attr("required")), next(iter(filled.typed)))
    urls = [v for n, v in kept.items() if is_url_field(filled.elements[n])]
    return Stored(
        profile_id=profile_id,
        name=kept[name_field],
        texts=[v for v in kept.values() if v not in urls],
        urls=urls,
        handles=[v for n, v in kept.items() if n.lower().endswith("handle")],
        topics=[v for n, v in kept.items() if "topic" in n.lower()],
    )


def _check_form_errors(response: Any, filled: Filled, where: str) -> BeautifulSoup:
    """A form shown again with errors is a page full of payloads too; and it keeps what was typed."""
    page = assert_inert(response, filled.typed.values(), where)
    invalid = _invalid_names(page)
    for name, value in filled.typed.items():
        if name not in invalid:
            assert any(value == shown_value(el) for el in page.select(f'[name="{name}"]')), f"{where}: {name} lost its value"
    return page


def _schema(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def _body_from_schema(doc: dict[str, Any], schema: dict[str, Any], value_for: Callable[[str, int | None], str | None],
                      path: str = "", index: int = 0) -> dict[str, Any]:
    """Every string field of a request schema filled by value_for(path, maxLength); enums, booleans
    and numbers get a valid value or their default."""

    def resolve(spec: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in spec:
            spec = doc["components"]["schemas"][spec["$ref"].rsplit("/", 1)[1]]
        return spec

    body: dict[str, Any] = {}
    for prop, raw in resolve(schema).get("properties", {}).items():
        spec = resolve(raw)
        here = f"{path}{prop}"
        if "enum" in spec:
            choices = [c for c in spec["enum"] if c] or spec["enum"]
            body[prop] = choices[index % len(choices)]
        elif spec.get("type") == "boolean":
            body[prop] = True
        elif spec.get("type") == "string" and "format" not in spec:
            value = value_for(here, spec.get("maxLength"))
            if value is not None:
                body[prop] = value
        elif spec.get("type") == "array":
            items = resolve(spec.get("items", {}))
            if items.get("type") == "string" and "enum" not in items:
                value = value_for(here, None)
                if value is not None:
                    body[prop] = [value]
            elif items.get("type") == "object":
                body[prop] = [_body_from_schema(doc, items, value_for, f"{here}.{i}.", i) for i in range(2)]
    return body


def create_through_api(client: TestClient, payload: str) -> Stored:
    doc = _schema(client)
    request = doc["paths"]["/api/v1/profiles"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    typed: dict[str, str] = {}

    def value_for(path: str, max_length: int | None) -> str | None:
        n = len(typed) + 1
        leaf = path.rsplit(".", 1)[-1]
        value = f"https://example.com/~{n}?{payload}" if leaf.endswith("url") else f"{payload} ~{n}"
        if max_length is not None and len(value) > max_length:
            value = f"{SHORT} ~{n}"
        if max_length is not None and len(value) > max_length:
            return None
        typed[path] = value
        return value

    body = _body_from_schema(doc, request, value_for)
    response = client.post("/api/v1/profiles", json=body)
    assert response.status_code == 201, response.text[:500]
    data = response.json()
    for key, value in body.items():  # stored as typed: no escaping on the way in (it would show twice escaped)
        if isinstance(value, str):
            assert data[key] == value, key
    required = doc["components"]["schemas"]["ProfileIn"].get("required", ["display_name"])
    urls = [v for p, v in typed.items() if p.endswith("url")]
    return Stored(
        profile_id=int(data["id"]),
        name=typed[required[0]],
        texts=[v for v in typed.values() if v not in urls],
        urls=urls,
        handles=[v for p, v in typed.items() if p.endswith("handle")],
        topics=[v for p, v in typed.items() if "topic" in p],
    )


def check_profile_pages(client: TestClient, stored: Stored, *, flash: bool) -> None:
    typed, pid = stored.typed, stored.profile_id

    detail = check(client, f"/people/{pid}", typed, "profile page")
    if flash:
        assert stored.name in flash_text(detail), "the flash does not name the person"
    for value in stored.texts:
        assert shows_text(detail, value), f"profile page: {value!r} is not shown as text"
    hrefs = {str(a["href"]) for a in detail.select("a[href]")}
    for url in stored.urls:
        assert url in hrefs, f"profile page: {url!r} is not a link"

    for headers, where in (({}, "people list"), (HX, "people list fragment")):
        page = check(client, "/people", typed, where, headers=headers)
        assert shows_text(page, stored.name), f"{where}: the name is not shown"
        for handle in stored.handles[:3]:
            assert shows_text(page, handle), f"{where}: {handle!r} is not shown"
        results = client.get("/people", params={"q": stored.name}, headers=headers)
        page = assert_inert(results, typed, f"search results, {where}")
        assert page.select_one(f'a[href="/people/{pid}"]') is not None, f"search results, {where}: the person is not found"
        assert shows_text(page, stored.name)
        for handle in stored.handles[:1]:
            page = assert_inert(client.get("/people", params={"q": handle}, headers=headers), typed, f"handle search, {where}")
            assert page.select_one(f'a[href="/people/{pid}"]') is not None, f"handle search, {where}: the person is not found"
        for topic in stored.topics:
            page = assert_inert(client.get("/people", params={"topic": topic}, headers=headers), typed, f"topic filter, {where}")
            assert shows_text(page, topic), f"topic filter, {where}: the topic {topic!r} is not shown"

    edit = check(client, f"/people/{pid}/edit", typed, "edit form")
    shown = {shown_value(el) for el in edit.select("input, textarea")}
    for value in typed:
        assert value in shown, f"edit form: {value!r} is not shown back in its field"
    assert shows_text(edit, stored.name)

    confirm = check(client, f"/people/{pid}/delete", typed, "delete confirmation")
    assert shows_text(confirm, stored.name)

    similar = assert_inert(client.get("/people/similar", params={"display_name": stored.name}, headers=HX), typed,
                           "similar-names fragment")
    assert similar.select_one(f'a[href="/people/{pid}"]') is not None and shows_text(similar, stored.name)

    check(client, "/", typed, "dashboard")
    check(client, "/settings", typed, "settings")
    check(client, "/settings/audit", typed, "audit log")
    check(client, "/settings/audit", typed, "audit log fragment", headers=HX)
    check(client, "/settings/audit?action=profile", typed, "audit log, people only", headers=HX)


def edit_round_trip(client: TestClient, stored: Stored) -> None:
    """Saving the edit form unchanged keeps every value exactly (no double escaping, nothing lost)."""
    form = post_form(soup(client.get(f"/people/{stored.profile_id}/edit")))
    filled = fill(form, lambda el, n: None, check_all=False)
    response = client.post(str(form["action"]), data=filled.data)
    assert _profile_id(response) == stored.profile_id
    detail = check(client, f"/people/{stored.profile_id}", stored.typed, "profile page after saving the edit form")
    assert stored.name in flash_text(detail)
    for value in stored.texts:
        assert shows_text(detail, value), f"after the edit form: {value!r} changed or vanished"


def clash_errors(client: TestClient, stored: Stored) -> None:
    """Another person with the same handles: the error names the handle and its owner, as text."""
    if not stored.handles:
        return
    form = post_form(soup(client.get("/people/new")))
    handles = iter(stored.handles)
    filled = fill(form, lambda el, n: "Someone Else" if el.has_attr("required") else (
        next(handles, "") if str(el["name"]).endswith("handle") else ""), check_all=False)
    # ...on the same platforms as the stored ones (a handle alone does not say where it lives).
    identities = client.get(f"/api/v1/profiles/{stored.profile_id}").json()["identities"]
    stored_platforms = {i["handle"]: i["platform"] for i in identities}
    for name, values in list(filled.data.items()):
        if name.endswith("-handle") and values and values[0] in stored_platforms:
            filled.put(name.removesuffix("handle") + "platform", stored_platforms[values[0]])
    for headers in ({}, HX):
        response = client.post(str(form.get("action") or "/people"), data=filled.data, headers=headers)
        assert response.status_code == 422, response.text[:300]
        page = assert_inert(response, stored.typed, f"duplicate-handle errors (headers {headers})")
        errors = " ".join(e.get_text() for e in page.select(".field-error"))
        assert stored.name in errors and stored.handles[0] in errors, f"the clash error does not name them: {errors!r}"


def delete_and_check(client: TestClient, stored: Stored) -> None:
    assert client.post(f"/people/{stored.profile_id}/delete").status_code == 303
    page = check(client, "/people", stored.typed, "people list after a delete")
    assert stored.name in flash_text(page)
    for headers, where in (({}, "audit log after a delete"), (HX, "audit log fragment after a delete")):
        page = check(client, "/settings/audit", stored.typed, where, headers=headers)
        assert shows_text(page, stored.name), f"{where}: the deleted person's name is not shown"
    assert shows_text(check(client, "/", stored.typed, "dashboard after a delete"), stored.name)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_profile_typed_in_the_form_is_shown_as_text_everywhere(admin_client, payload):
    stored = create_through_form(admin_client, payload)
    check_profile_pages(admin_client, stored, flash=True)
    edit_round_trip(admin_client, stored)
    clash_errors(admin_client, stored)
    delete_and_check(admin_client, stored)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_profile_sent_to_the_api_is_shown_as_text_everywhere(admin_client, payload):
    stored = create_through_api(admin_client, payload)
    fetched = admin_client.get(f"/api/v1/profiles/{stored.profile_id}").json()
    assert fetched["display_name"] == stored.name
    check_profile_pages(admin_client, stored, flash=False)
    edit_round_trip(admin_client, stored)
    clash_errors(admin_client, stored)
    delete_and_check(admin_client, stored)


# ---- URLs that would run script ---------------------------------------------------------------------


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_script_urls_are_refused_by_the_form(admin_client, url):
    form = post_form(soup(admin_client.get("/people/new")))
    url_fields = [str(el["name"]) for el in form.select("input[name], textarea[name]") if is_text_field(el) and is_url_field(el)]
    assert url_fields, "the form has no URL field"
    filled = fill(form, lambda el, n: "Script Url" if el.has_attr("required") else (
        url if is_url_field(el) else (f"handle{n}" if str(el["name"]).endswith("handle") else "")), check_all=False)
    response = admin_client.post(str(form.get("action") or "/people"), data=filled.data)
    if response.status_code == 422:
        page = assert_inert(response, [url], "form re-shown after a script URL")
        assert _invalid_names(page) & set(url_fields), "the script URL was refused but no URL field is marked"
        return
    pid = _profile_id(response)  # accepted: then it must never become a link
    check(admin_client, f"/people/{pid}", [url], "profile page with a script URL")
    check(admin_client, "/people", [url], "people list with a script URL")


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_script_urls_are_refused_by_the_api(admin_client, url):
    body = {"display_name": "Script Url", "identities": [{"platform": "blog", "handle": "scripturl", "url": url}]}
    response = admin_client.post("/api/v1/profiles", json=body)
    if response.status_code == 201:
        check(admin_client, f"/people/{response.json()['id']}", [url], "profile page with a script URL")
    else:
        assert response.status_code == 422 and response.headers["content-type"].startswith("application/json")
    good = admin_client.post("/api/v1/profiles", json={**body, "identities": []})
    assert good.status_code == 201
    patched = admin_client.patch(f"/api/v1/profiles/{good.json()['id']}", json={"identities": body["identities"]})
    if patched.status_code == 200:
        check(admin_client, f"/people/{good.json()['id']}", [url], "profile page with a patched script URL")
    else:
        assert patched.status_code == 422


# ---- Settings: users, tokens, sessions; the login form and the audit log -----------------------------


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_user_name_email_and_user_agent_are_shown_as_text(admin_client, engine, payload):
    email = EMAIL_PAYLOADS[list(PAYLOADS.values()).index(payload) % len(EMAIL_PAYLOADS)]
    form = post_form(soup(admin_client.get("/settings")), "/settings/users")

    def value_for(el: Tag, n: int) -> str:
        return email if str(el.get("type")) == "email" else f"{payload} ~{n}"

    filled = fill(form, value_for, check_all=False)
    for el in form.select("input[type=password][name]"):
        filled.data[str(el["name"])] = [PASSWORD_FOR_NEW_USERS]
    response = admin_client.post("/settings/users", data=filled.data)
    assert response.status_code == 303, soup(response).get_text(" ", strip=True)[:500]
    typed = list(filled.typed.values())
    name = next(v for v in typed if v != email)

    page = check(admin_client, "/settings", typed, "settings, users")
    assert email in flash_text(page)
    users = page.select_one("#users") or page
    assert shows_text(users, name) and shows_text(users, email)
    assert any(email in v for v in attribute_values(users)), "the e-mail is not in the role select's label"

    with Session(engine) as session:
        user = session.exec(select(User).where(User.email == email)).one()
    owned = make_profile(engine, "Owned Person", owner_id=user.id)
    new_form = check(admin_client, "/people/new", typed, "new-person form (owner list)")
    assert any(name in o.get_text() and email in o.get_text() for o in new_form.select("option")), "owner not listed"
    detail = check(admin_client, f"/people/{owned.id}", typed, "profile page (owner)")
    assert shows_text(detail, name)
    check(admin_client, f"/people/{owned.id}/edit", typed, "edit form (owner list)")
    check(admin_client, "/settings/audit", typed, "audit log (user created)")

    agent = f"{payload} ~agent"
    with TestClient(admin_client.app, follow_redirects=False, headers={"User-Agent": agent}) as other:
        sign_in(other, email, PASSWORD_FOR_NEW_USERS)
        everything = [*typed, agent]
        dashboard = check(other, "/", everything, "the new user's dashboard")
        assert shows_text(dashboard, name)
        assert any(email == v for v in attribute_values(dashboard)), "the top bar does not carry the e-mail"
        own = check(other, "/settings", everything, "the new user's settings (sessions)")
        assert shows_text(own, agent), "the browser's user agent is not listed under sessions"
    check(admin_client, "/", typed, "admin's dashboard (recent activity)")


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_api_token_name_is_shown_as_text(admin_client, payload):
    form = post_form(soup(admin_client.get("/settings")), "/settings/tokens")
    filled = fill(form, lambda el, n: f"{payload} ~{n}", check_all=False)
    typed = list(filled.typed.values())
    response = admin_client.post("/settings/tokens", data=filled.data)
    assert response.status_code == 303, response.text[:300]
    response = admin_client.get("/settings")
    for page, where in ((assert_inert(response, typed, "token just created"), "token just created"),
                        (check(admin_client, "/settings", typed, "settings, tokens"), "settings, tokens")):
        tokens = page.select_one("#tokens") or page
        assert shows_text(tokens, typed[0]), f"{where}: the token name is not shown"
        assert any(typed[0] in v for v in attribute_values(tokens)), f"{where}: the revoke question does not name the token"
    check(admin_client, "/settings/audit", typed, "audit log (token created)")
    check(admin_client, "/", typed, "dashboard (token created)")


LOGIN_PAYLOADS = {**PAYLOADS, **{f"email-{n}": e for n, e in enumerate(EMAIL_PAYLOADS, start=1)}}


@pytest.mark.parametrize("payload", LOGIN_PAYLOADS.values(), ids=LOGIN_PAYLOADS.keys())
def test_failed_login_email_is_shown_as_text_in_the_audit_log(admin_client, payload):
    typed_email = f"{payload} ~1" if "@" not in payload else payload
    next_url = f"/{payload}"
    with TestClient(admin_client.app, follow_redirects=False) as visitor:
        login = check(visitor, "/login?" + urlencode({"next": next_url}), [next_url], "login page with a next= address")
        form = post_form(login, "/login")
        filled = fill(form, lambda el, n: typed_email if str(el.get("type")) == "email" or "mail" in str(el["name"]) else None,
                      check_all=False)
        filled.data["password"] = ["not the password"]
        response = visitor.post("/login", data=filled.data)
        assert response.status_code in (400, 401, 403), response.status_code
        page = assert_inert(response, [typed_email, next_url], "login form after a failure")
        assert typed_email in {shown_value(el) for el in page.select("input")}, "the login form lost the e-mail"
    stored_as = typed_email.strip().lower()
    for headers, where in (({}, "audit log"), (HX, "audit log fragment")):
        page = check(admin_client, "/settings/audit", [stored_as], where, headers=headers)
        assert shows_text(page, stored_as), f"{where}: the failed e-mail is not shown"
        page = check(admin_client, "/settings/audit?action=login", [stored_as], f"{where}, sign-ins only", headers=headers)
        assert shows_text(page, stored_as)
    check(admin_client, "/", [stored_as], "dashboard after a failed login")


# ---- imported data ---------------------------------------------------------------------------------


def _write_seed(directory: Path, payload: str) -> dict[str, str]:
    """Two people, their identities, an edge and a negative post from a large account, all carrying the payload."""
    v = {key: f"{payload} ~{key}" for key in ("name1", "name2", "bio", "location", "topic", "handle", "title", "body")}
    v["url"] = f"https://example.com/~url?{payload}"
    v["post_url"] = f"https://example.com/~post?{payload}"

    def write(name: str, header: list[str], rows: list[list[str]]) -> None:
        with (directory / name).open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)

    write("profiles.csv", ["key", "display_name", "roles", "team_member", "bio", "topics", "language", "location", "status",
                           "may_contact", "may_feature", "consent_basis", "consent_date"],
          [["p1", v["name1"], "influencer", "false", v["bio"], v["topic"], "en", v["location"], "active", "true", "true",
            "consent", "2025-01-01"],
           ["p2", v["name2"], "customer", "false", "", "", "", "", "active", "false", "false", "", ""]])
    write("identities.csv", ["profile_key", "platform", "handle", "url", "followers", "following", "posts",
                             "engagement_rate", "verified"],
          [["p1", "x", v["handle"], v["url"], "50000", "1", "1", "", "true"]])
    write("relationships.csv", ["source_key", "target_key", "kind", "strength", "first_seen", "last_seen"],
          [["p1", "p2", "knows", "0.9", "2025-01-01T00:00:00Z", "2025-06-01T00:00:00Z"]])
    post = {"source": "test", "external_id": "1", "profile_key": "p1", "kind": "post", "channel": "x", "url": v["post_url"],
            "title": v["title"], "body": v["body"], "occurred_at": "2025-06-01T00:00:00Z", "reach": 50000,
            "engagements": 10, "sentiment": -0.9, "counterpart_key": "p2"}
    note = {**post, "external_id": "2", "kind": "note", "url": "", "title": v["title"], "sentiment": None}
    (directory / "interactions.jsonl").write_text("\n".join(json.dumps(r) for r in (post, note)) + "\n", encoding="utf-8")
    return v


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_imported_people_and_history_are_shown_as_text(admin_client, engine, tmp_path, payload):
    v = _write_seed(tmp_path, payload)
    load_seed(engine, tmp_path, shift_to=utcnow())
    with Session(engine) as session:
        ids = {name: pid for pid, name in session.exec(select(Profile.id, Profile.display_name))}
    p1, p2 = ids[v["name1"]], ids[v["name2"]]
    typed = list(v.values())

    detail = check(admin_client, f"/people/{p1}", typed, "imported profile page")
    for key in ("name1", "name2", "bio", "location", "topic", "handle", "title", "body"):
        assert shows_text(detail, v[key]), f"imported profile page: {key} {v[key]!r} is not shown as text"
    hrefs = {str(a["href"]) for a in detail.select("a[href]")}
    assert v["url"] in hrefs and v["post_url"] in hrefs
    timeline = check(admin_client, f"/people/{p1}/timeline?offset=0", typed, "timeline fragment", headers=HX)
    assert shows_text(timeline, v["title"]), "the timeline fragment does not show the post"
    check(admin_client, f"/people/{p2}", typed, "the other person's page (connections)")
    dashboard = check(admin_client, "/", typed, "dashboard with imported history")
    assert shows_text(dashboard, v["name1"]) and shows_text(dashboard, v["title"]), "the dashboard does not show the post"
    check(admin_client, "/people?sort=reach&dir=desc", typed, "people list by reach")
    check(admin_client, "/people?sort=reach&dir=desc", typed, "people list by reach, fragment", headers=HX)


# ---- the checker itself ------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [*PAYLOADS.values(), SHORT, *EMAIL_PAYLOADS])
def test_the_checker_catches_each_payload_pasted_raw(payload):
    """Self-test: each payload, unescaped in a text or attribute context, is reported (except the
    template one, which is only dangerous when evaluated, and is checked by its 49)."""
    value = f"{payload} ~1"
    contexts = ('<p title="{}">x</p>', "<p title='{}'>x</p>", "<p>{}</p>", "<textarea>{}</textarea>", "<title>{}</title>")
    caught = 0
    for context in contexts:
        html = f"<main>{context.replace('{}', value)}</main>"
        try:
            assert_inert(html, [value], "self-test")
        except AssertionError:
            caught += 1
    if "{{" in payload:
        with pytest.raises(AssertionError, match="evaluated"):
            assert_inert(f"<main><p>{value.replace('{{7*7}}', '49')}</p></main>", [value], "self-test")
    else:
        assert caught, f"no context showed {payload!r} as an injection"
    escaped = f"<main><p title=\"{_escape(value)}\">{_escape(value)}</p><textarea>{_escape(value)}</textarea></main>"
    page = assert_inert(escaped, [value], "self-test, escaped")
    assert shows_text(page, value)


def _escape(value: str) -> str:
    from markupsafe import escape  # the tests may use it; the app may not (tests/unit/test_no_unsafe_markup.py)

    return str(escape(value))


def test_the_checker_reads_dangerous_urls_like_a_browser():
    assert all(_dangerous_url(url) for url in UNSAFE_URLS)
    assert not _dangerous_url("https://example.com/javascript:alert(1)")
