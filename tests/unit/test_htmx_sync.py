"""Live filters and lookups send a request on every change; htmx drops a new request while one from the
same element is in flight unless told otherwise, which once left the people list on the previous filter.
Every element that fires GETs on change or input must say that the newest request replaces the older."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
TAG = re.compile(r"<[a-z]+\b[^>]*>", re.S)


def test_live_filters_let_the_newest_request_win():
    wrong = []
    for path in TEMPLATES.rglob("*.html"):
        for tag in TAG.findall(path.read_text()):
            trigger = re.search(r'hx-trigger="([^"]*)"', tag)
            live = "hx-get=" in tag and trigger and re.search(r"\b(change|input)\b", trigger.group(1))
            if live and 'hx-sync="this:replace"' not in tag:
                wrong.append(f"{path.relative_to(TEMPLATES)}: {' '.join(tag.split())[:120]}")
    assert not wrong, "add hx-sync=\"this:replace\":\n  " + "\n  ".join(wrong)
