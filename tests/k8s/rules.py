"""The Prometheus alert rules the overlays ship, and what their expressions read."""
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.k8s.manifests import built, of_kind

RULE_KIND = ("monitoring.coreos.com/v1", "PrometheusRule")
#: PromQL's keywords, which look like metric names to a tokenizer.
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
             "and", "or", "unless", "inf", "nan", "atan2"}


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is not installed (.ci/run installs it: Debian's prometheus)"
    return path


def rule_objects(overlay: str) -> dict[str, dict]:
    return of_kind(built(overlay), "PrometheusRule")


def alerting_rules(overlay: str = "prod") -> list[dict]:
    return [rule for obj in rule_objects(overlay).values()
            for group in obj["spec"]["groups"] for rule in group["rules"] if "alert" in rule]


def write_rule_file(obj: dict, path: Path, *, annotations: bool = True) -> Path:
    """A PrometheusRule's spec as the rule file Prometheus gets from the operator."""
    groups = yaml.safe_load(yaml.safe_dump(obj["spec"]["groups"]))
    if not annotations:  # promtool's unit tests compare annotations too; keep to the logic
        for group in groups:
            for rule in group["rules"]:
                rule.pop("annotations", None)
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path


def run_promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=120,
                          check=False, cwd=cwd)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, labels or keywords)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # string literals
    expr = re.sub(r"\{[^}]*\}", " ", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", " ", expr)  # ranges and subqueries
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", expr):
        word, rest = match.group(), expr[match.end():].lstrip()
        if rest.startswith("(") or word.lower() in _KEYWORDS:
            continue  # a function or aggregation, or a keyword
        names.add(word)
    return names


def github_anchor(heading: str) -> str:
    """The fragment GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")
