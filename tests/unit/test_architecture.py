"""Rules of the house that code review alone would not keep."""

from __future__ import annotations

import ast
from pathlib import Path

import crm

PACKAGE = Path(crm.__file__).parent
WEB_FRAMEWORKS = ("fastapi", "starlette", "jinja2", "jinja2_fragments", "uvicorn")
# Domain packages: services and models; no web framework may leak in.
# Every domain package: all of crm's packages but the HTTP layers and the migrations.
DOMAIN = tuple(sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py") if p.parent.name not in ("web", "api", "migrations")))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_domain_code_imports_no_web_framework():
    checked = 0
    for domain in DOMAIN:
        for path in (PACKAGE / domain).rglob("*.py"):
            bad = _imports(path) & set(WEB_FRAMEWORKS)
            assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"
            checked += 1
    for module in ("db.py", "security.py", "settings.py", "errors.py", "base.py", "models.py"):
        assert not _imports(PACKAGE / module) & set(WEB_FRAMEWORKS), module
    assert checked >= 8


def test_routes_run_no_queries():
    """Thin routes: the web and api layers call services; they never build queries themselves."""
    for layer in ("web", "api"):
        for path in (PACKAGE / layer).rglob("*.py"):
            source = path.read_text()
            for forbidden in ("select(", "session.exec(", "db.exec(", "db.execute(", "from sqlmodel import select"):
                assert forbidden not in source, f"{path.relative_to(PACKAGE)} contains {forbidden!r}"


def test_request_schemas_forbid_unknown_fields_and_are_not_tables():
    import importlib

    from pydantic import BaseModel
    from sqlmodel import SQLModel

    from crm.schemas import InputModel

    for path in PACKAGE.rglob("*.py"):  # every module, so that every request schema is defined
        if "migrations" not in path.parts and path.name != "__main__.py":
            importlib.import_module("crm." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
    schemas, pending = [], list(InputModel.__subclasses__())
    while pending:
        schema = pending.pop()
        schemas.append(schema)
        pending.extend(schema.__subclasses__())
    names = {schema.__name__ for schema in schemas}
    assert {"ProfileIn", "ProfilePatch", "IdentityIn", "UserIn"} <= names and len(schemas) >= 10, names
    for schema in schemas:
        assert issubclass(schema, BaseModel) and not issubclass(schema, SQLModel), schema.__name__
        assert schema.model_config.get("extra") == "forbid", schema.__name__


def test_every_template_is_autoescaped():
    from crm.templating import build_templates

    env = build_templates().env
    template = env.from_string("{{ value }}")
    assert template.render(value="<script>") == "&lt;script&gt;"


def test_services_take_the_session_keyword_only():
    """DESIGN.md: domain services take `session` keyword-only, so a call always says which session it uses."""
    import importlib
    import inspect

    checked = 0
    for path in PACKAGE.rglob("service.py"):
        module = importlib.import_module("crm." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != module.__name__:
                continue
            parameter = inspect.signature(function).parameters.get("session")
            if parameter is not None:
                assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, f"{module.__name__}.{name}"
                checked += 1
    assert checked >= 30


def test_the_json_api_does_not_depend_on_the_html_pages():
    for path in (PACKAGE / "api").rglob("*.py"):
        modules = {node.module for node in ast.walk(ast.parse(path.read_text()))
                   if isinstance(node, ast.ImportFrom) and node.module}
        assert not {m for m in modules if m == "crm.web" or m.startswith("crm.web.")}, path.name
