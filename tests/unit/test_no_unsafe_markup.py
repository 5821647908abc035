"""No way around autoescaping: no `|safe`, `Markup`, `markupsafe`, `{% autoescape false %}` or
hand-built HTML in templates/ or crm/ (house rule 6: nothing a person typed is ever marked safe).

A reviewed use that never carries user data goes in ALLOWED below, with the reason; an entry that
no longer matches anything fails too, so the list stays short and true.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

from crm.resources import share_dir
from crm.templating import build_templates

ROOT = Path(__file__).resolve().parents[2]
CRM = ROOT / "crm"
TEMPLATES = share_dir("templates")

# (path relative to the repository, rule name) -> why it is safe. Empty: no reviewed exceptions today.
ALLOWED: dict[tuple[str, str], str] = {}

# Jinja: the ways a template can print something unescaped.
TEMPLATE_RULES = {
    "safe filter": re.compile(r"\|\s*safe\b"),
    "filter block": re.compile(r"{%-?\s*filter\b[^%]*\bsafe\b"),
    "autoescape block": re.compile(r"{%-?\s*autoescape\s+(?!\s)(?!true\s*-?%})"),
    "Markup": re.compile(r"\bMarkup\b"),
    "markupsafe": re.compile(r"\bmarkupsafe\b"),
    "__html__": re.compile(r"__html__"),
}
# Python: the same, plus turning autoescaping off, templates built from strings, and HTML by hand.
PYTHON_RULES = {
    "safe filter": TEMPLATE_RULES["safe filter"],
    "filter block": TEMPLATE_RULES["filter block"],
    "autoescape block": TEMPLATE_RULES["autoescape block"],
    "Markup": re.compile(r"\bMarkup\b"),
    "markupsafe": re.compile(r"\bmarkupsafe\b"),
    "__html__": re.compile(r"__html__"),
    "autoescape off": re.compile(r"\bautoescape\s*=(?!\s*True\b)"),
    "template from a string": re.compile(r"\bfrom_string\s*\(|\bjinja2\.Template\s*\(|(?<![\w.])Template\s*\("),
    "hand-built HTML response": re.compile(r"\bHTMLResponse\s*\((?!\s*\))"),
}


def _python_code(path: Path) -> str:
    """The source without comments and docstrings (which may well mention `|safe`); string
    literals stay, since an inline template in a string can bypass escaping as well as a file can."""
    source = path.read_text(encoding="utf-8")
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docstrings.add(first.lineno)
    kept: list[str] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            continue
        if token.type == tokenize.STRING and token.start[0] in docstrings:
            continue
        kept.append(token.string)
    return " ".join(kept)


def find_unsafe(text: str, rules: dict[str, re.Pattern[str]]) -> list[str]:
    return [name for name, rule in rules.items() if rule.search(text)]


def _scanned() -> dict[tuple[str, str], str]:
    """(file, rule) -> the offending excerpt, over every template and every module of crm/."""
    hits: dict[tuple[str, str], str] = {}
    for path in sorted(TEMPLATES.rglob("*")):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            for name in find_unsafe(text, TEMPLATE_RULES):
                match = TEMPLATE_RULES[name].search(text)
                assert match is not None
                line = text.count("\n", 0, match.start()) + 1
                excerpt = text.splitlines()[line - 1].strip()
                hits[(path.relative_to(TEMPLATES.parent).as_posix(), name)] = f"line {line}: {excerpt}"
    for path in sorted(CRM.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        code = _python_code(path)
        for name in find_unsafe(code, PYTHON_RULES):
            match = PYTHON_RULES[name].search(code)
            assert match is not None
            hits[(path.relative_to(ROOT).as_posix(), name)] = code[max(0, match.start() - 60): match.end() + 60]
    return hits


def test_nothing_bypasses_autoescaping():
    hits = _scanned()
    unreviewed = {key: excerpt for key, excerpt in hits.items() if key not in ALLOWED}
    assert not unreviewed, "markup that bypasses autoescaping (fix it, or review it and add it to ALLOWED):\n" + "\n".join(
        f"  {path} [{rule}] {excerpt}" for (path, rule), excerpt in sorted(unreviewed.items()))


def test_allow_list_has_no_stale_entries():
    hits = _scanned()
    stale = [key for key in ALLOWED if key not in hits]
    assert not stale, f"ALLOWED lists uses that no longer exist: {stale}"


def test_the_scan_covers_the_templates_and_the_code():
    assert TEMPLATES.is_dir() and any(TEMPLATES.rglob("*.html"))
    assert (CRM / "templating.py").is_file()


@pytest.mark.parametrize("snippet", [
    "{{ p.display_name|safe }}",
    "{{ p.bio | safe }}",
    "{{ p.bio|e|safe }}",
    "{% filter safe %}{{ p.bio }}{% endfilter %}",
    "{% autoescape false %}{{ p.bio }}{% endautoescape %}",
    "{%- autoescape False -%}{{ p.bio }}{% endautoescape %}",
    "{{ Markup(p.bio) }}",
])
def test_the_template_scan_catches(snippet):
    assert find_unsafe(snippet, TEMPLATE_RULES)


@pytest.mark.parametrize("snippet", [
    "{{ p.display_name }}", "{{ p.bio|truncate(90) }}", "{% autoescape true %}{{ x }}{% endautoescape %}",
    "{{ t|urlencode }}", "<a href=\"/people?safe=1\">", "{%  autoescape  true  %}{{ x }}{% endautoescape %}",
])
def test_the_template_scan_lets_escaped_output_through(snippet):
    assert not find_unsafe(snippet, TEMPLATE_RULES)


@pytest.mark.parametrize("source", [
    "from markupsafe import Markup\n",
    "from jinja2 import Markup\n",
    "x = Markup(f'<b>{name}</b>')\n",
    "import markupsafe\n",
    "env = jinja2.Environment(autoescape=False)\n",
    "env = jinja2.Environment(autoescape=select_autoescape(['html']))\n",
    "html = env.from_string(user_text).render()\n",
    "return HTMLResponse(f'<p>{message}</p>')\n",
    "return HTMLResponse( content=page )\n",
    "TEMPLATE = '{{ name|safe }}'\n",
    "class Safe:\n    def __html__(self):\n        return self.text\n",
])
def test_the_python_scan_catches(tmp_path, source):
    path = tmp_path / "module.py"
    path.write_text(source, encoding="utf-8")
    assert find_unsafe(_python_code(path), PYTHON_RULES)


def test_the_python_scan_ignores_comments_docstrings_and_safe_settings(tmp_path):
    path = tmp_path / "module.py"
    path.write_text('"""Never use |safe or Markup( here."""\n\n\ndef f():\n    """Not markupsafe either."""\n'
                    "    return 1  # no |safe\n\n\nenv = Environment(autoescape = True)\n\n\n"
                    "def render() -> HTMLResponse:\n    return HTMLResponse()\n", encoding="utf-8")
    assert not find_unsafe(_python_code(path), PYTHON_RULES)


def test_the_environment_escapes_every_template():
    """Starlette's own Jinja2Templates escapes only .html/.htm/.xml names; ours must escape all of them."""
    env = build_templates().env
    names = [p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*") if p.is_file()]
    assert names
    for name in [*names, "anything.txt", "mail/body.j2"]:
        enabled = env.autoescape(name) if callable(env.autoescape) else env.autoescape
        assert enabled is True, name
    rendered = env.from_string("{{ v }}|{{ _('Hello %(name)s', name=v) }}").render(v="<b>\"x\"</b>")
    assert "<b>" not in rendered and rendered.count("&lt;b&gt;") == 2


def test_templates_import_the_csrf_macro_with_their_context():
    """`{% from … import csrf %}` without `with context` renders an empty token: every plain form using
    it would answer 403 in a browser (tests posting with a header do not notice)."""
    import re
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "templates"
    imports = re.compile(r"{%-?\s*from\s+\"components/macros.html\"\s+import\s+([^%]*?)-?%}")
    wrong = [f"{path.relative_to(templates)}: {m.group(0)}" for path in templates.rglob("*.html")
             for m in imports.finditer(path.read_text()) if re.search(r"\bcsrf\b", m.group(1))
             and "with context" not in m.group(1)]
    assert not wrong, "import csrf with context:\n  " + "\n  ".join(wrong)
