"""What every JSON route may answer besides its success: the documented error responses."""

from __future__ import annotations

from typing import Any

from crm.schemas import ErrorOut

_STANDARD = {
    400: "The body could not be read (not UTF-8 JSON)",
    401: "Not signed in and no valid API token",
    403: "Your role cannot do this, or the CSRF token is missing",
    404: "Not found",
    422: "Invalid fields; `errors` names each one",
}


def error_responses(**specific: str) -> dict[int | str, dict[str, Any]]:
    """The standard error answers, with this router's own wording for some (`e404="No such profile"`)
    and extra codes (`e409=...`, `e413=...`). Every error has the ErrorOut body."""
    texts: dict[int, str] = dict(_STANDARD)
    texts.update({int(key.removeprefix("e")): text for key, text in specific.items()})
    return {code: {"model": ErrorOut, "description": text} for code, text in sorted(texts.items())}
