"""Every alert kind the code can raise has advice in its e-mail and a runbook section in
docs/operations.md, and the e-mail links to that section.

The kinds are read from the source: every ``raise_condition(key, kind, ...)`` call, with
``kind`` a string, a module constant, or a local name bound to strings in the same
function. A call whose kind cannot be read that way fails the test, so a new alert cannot
slip past it by computing its kind.
"""
import ast
import re
from pathlib import Path

import pytest

from actors.alerts.mail import compose
from actors.alerts.runbook import ADVICE, runbook_url, section_anchor
from db import Alert, utcnow
from tests.k8s.rules import github_anchor

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("actors", "db", "web", "scheduler")
GUIDE = ROOT / "docs" / "operations.md"
RUNBOOKS = "## Runbooks: the app's alerts"
#: What each section must say, in this order (docs/operations.md keeps them as bold leads).
PARTS = ("**What it means.**", "**What to check.**", "```sh", "**When to escalate.**")


def _strings(node: ast.AST, bindings: dict[str, ast.AST]) -> set[str] | None:
    """The strings ``node`` can evaluate to, or None if it is not that simple."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        body, other = _strings(node.body, bindings), _strings(node.orelse, bindings)
        return body | other if body is not None and other is not None else None
    if isinstance(node, ast.Name) and node.id in bindings:
        return _strings(bindings[node.id], {k: v for k, v in bindings.items() if k != node.id})
    return None


def _assignments(body) -> dict[str, ast.AST]:
    return {target.id: statement.value for statement in body
            if isinstance(statement, ast.Assign)
            for target in statement.targets if isinstance(target, ast.Name)}


def kinds_in(source: str, name: str = "<source>") -> set[str]:
    tree = ast.parse(source)
    module = _assignments(tree.body)
    enclosing = {}  # each node -> the innermost function around it
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                if node is not function:
                    enclosing[node] = function  # inner functions come later and win
    found = set()
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and getattr(call.func, "id", None)
                == "raise_condition"):
            continue
        function = enclosing.get(call)
        local = {**module, **(_assignments(ast.walk(function)) if function else {})}
        kind = next((k.value for k in call.keywords if k.arg == "kind"),
                    call.args[1] if len(call.args) > 1 else None)
        values = _strings(kind, local) if kind is not None else None
        assert values, f"{name}:{call.lineno}: the alert kind cannot be read from the source"
        found |= values
    return found


def raised_kinds() -> set[str]:
    kinds = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            if "raise_condition(" in text and path.name != "alerts.py":
                kinds |= kinds_in(text, str(path.relative_to(ROOT)))
    return kinds


def runbook_sections() -> dict[str, str]:
    """Heading anchor -> text of each ``###`` section under the runbooks heading."""
    text = GUIDE.read_text()
    assert RUNBOOKS in text, f"docs/operations.md has no {RUNBOOKS!r}"
    part = text.split(RUNBOOKS, 1)[1].split("\n## ", 1)[0]
    sections = re.split(r"^### (.+)$", part, flags=re.MULTILINE)
    return {github_anchor(sections[i]): sections[i + 1] for i in range(1, len(sections), 2)}


def test_the_kinds_are_found_in_the_source():
    kinds = raised_kinds()
    assert {"send-failed", "send-failed-technical", "delivery-rate", "provider-failing",
            "dead-letters", "reminder-overflow", "reminder-expired", "reminders-missed",
            "missing-from-source", "etl-stale", "etl-incomplete"} <= kinds


def test_the_reader_follows_constants_and_refuses_what_it_cannot_read():
    source = '''
KIND = "a-kind"
def f(flag):
    kind = "b-kind" if flag else "c-kind"
    raise_condition("k", kind, "s")
    raise_condition("k", KIND, "s")
    raise_condition("k", kind="d-kind", summary="s")
'''
    assert kinds_in(source) == {"a-kind", "b-kind", "c-kind", "d-kind"}
    with pytest.raises(AssertionError, match="cannot be read"):
        kinds_in("def f(x):\n    raise_condition('k', x.kind, 's')\n")


@pytest.mark.parametrize("kind", sorted(raised_kinds()))
def test_every_kind_has_advice_and_a_full_runbook_section(kind):
    assert kind in ADVICE, f"actors/alerts/runbook.py ADVICE has nothing for {kind}"
    sections = runbook_sections()
    assert section_anchor(kind) in sections, f"docs/operations.md has no '### {kind}'"
    text = sections[section_anchor(kind)]
    positions = [text.find(part) for part in PARTS]
    assert -1 not in positions and positions == sorted(positions), (kind, PARTS)


def test_a_kind_without_a_section_is_caught():
    assert "no-such-kind" not in runbook_sections()
    assert set(runbook_sections()) >= {section_anchor(k) for k in raised_kinds()}


@pytest.mark.parametrize("kind", sorted(raised_kinds()))
def test_every_alert_email_links_to_its_section(app, kind):
    now = utcnow()
    alert = Alert(key=f"{kind}:test", kind=kind, summary="3 things", count=3, sample_ids=[1],
                  first_seen_at=now, last_seen_at=now, notified_count=0)
    _subject, text = compose(alert, "opened")
    assert f"Runbook: docs/operations.md#{section_anchor(kind)}\n" in text
    assert runbook_url(kind).split("#")[1] in runbook_sections()


def test_runbook_url_points_the_link_at_the_published_guide(make_app):
    app = make_app(RUNBOOK_URL="https://git.clinic.example/patient-notifier/-/blob/main/"
                               "docs/operations.md")
    with app.app_context():
        now = utcnow()
        alert = Alert(key="etl-stale", kind="etl-stale", summary="stale", count=1,
                      sample_ids=[], first_seen_at=now, last_seen_at=now, notified_count=0)
        _subject, text = compose(alert, "opened")
    assert ("Runbook: https://git.clinic.example/patient-notifier/-/blob/main/"
            "docs/operations.md#etl-stale") in text
