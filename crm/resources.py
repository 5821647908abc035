"""Where templates, static files and seed data are, in a checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def share_dir(name: str) -> Path:
    """The wheel puts them in crm/_share/NAME; a source checkout has them at the top level."""
    installed = _PACKAGE / "_share" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name
