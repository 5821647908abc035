"""The README documents every setting and the two commands."""

from __future__ import annotations

from pathlib import Path

from crm.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_documented():
    text = README.read_text()
    missing = [name for name in Settings.model_fields if f"CRM_{name.upper()}" not in text]
    assert not missing, f"README.md does not document: {missing}"


def test_readme_has_the_two_commands():
    text = README.read_text()
    assert "pip install . && crm demo" in text
    assert "pip install '.[test]' && pytest" in text


def test_readme_documents_every_cli_command():
    from typer.main import get_command

    from crm.cli import app

    command = get_command(app)
    text = README.read_text()
    for name in command.commands:  # type: ignore[attr-defined]
        assert f"crm {name}" in text, f"README.md does not mention `crm {name}`"
