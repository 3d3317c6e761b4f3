"""k8s/base/alert-rules.yaml: the Prometheus alerts that watch the app's own alerting.

promtool (Debian's prometheus package, installed by .ci/run) checks the rule files the
operator would hand to Prometheus, and its unit tests feed each rule the series that must
make it fire and the ones that must leave it quiet. That every metric a rule reads is really
exported is in tests/web/test_metrics.py (it needs the app).
"""
import copy
import re

import pytest
import yaml

from tests.k8s.manifests import OVERLAYS, ROOT, built
from tests.k8s.rules import (
    RULE_KIND,
    alerting_rules,
    github_anchor,
    metric_names,
    rule_objects,
    run_promtool,
    write_rule_file,
)

ALERTS = {"PatientNotifierReminderTickStale", "PatientNotifierAlertTickStale",
          "PatientNotifierPriorityBacklog",
          "PatientNotifierDeadLetters", "PatientNotifierNotReady",
          "PatientNotifierMetricsMissing", "PatientNotifierAlertEmailFailing",
          "PatientNotifierAlertEmailOverdue"}
NS = 'namespace="pn"'


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_both_overlays_ship_the_rules_in_their_namespace(overlay):
    objects = built(overlay)
    namespace = next(o["metadata"]["name"] for o in objects if o["kind"] == "Namespace")
    rules = rule_objects(overlay)
    assert set(rules) == {"patient-notifier"}
    assert rules["patient-notifier"]["apiVersion"] == RULE_KIND[0]
    assert rules["patient-notifier"]["metadata"]["namespace"] == namespace
    assert {rule["alert"] for rule in alerting_rules(overlay)} == ALERTS


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_promtool_checks_the_rules_with_every_lint(overlay, tmp_path):
    path = write_rule_file(rule_objects(overlay)["patient-notifier"], tmp_path / "rules.yaml")
    result = run_promtool("check", "rules", "--lint=all", "--lint-fatal", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


@pytest.mark.parametrize("broken", [
    {"expr": "max by (namespace) (patient_notifier_queue_messages{state=\"dead\"} > 0"},
    {"annotations": {"summary": "{{ $value | noSuchFunction }}"}},
    {"for": "5 minutes"},
])
def test_promtool_rejects_a_broken_rule(broken, tmp_path):
    obj = copy.deepcopy(rule_objects("prod")["patient-notifier"])
    obj["spec"]["groups"][0]["rules"][0].update(broken)
    result = run_promtool("check", "rules", str(write_rule_file(obj, tmp_path / "r.yaml")))
    assert result.returncode != 0, result.stdout


def _case(series: dict[str, str], alert: str, checks: list[tuple[str, list[dict]]]) -> dict:
    return {"interval": "1m",
            "input_series": [{"series": s, "values": v} for s, v in series.items()],
            "alert_rule_test": [{"eval_time": at, "alertname": alert,
                                 "exp_alerts": [{"exp_labels": labels} for labels in expected]}
                                for at, expected in checks]}


TICK = "patient_notifier_reminder_tick_last_run_timestamp_seconds"
ALERT_TICK = "patient_notifier_alert_tick_last_run_timestamp_seconds"
QUEUE = "patient_notifier_queue_messages"
READY = "patient_notifier_ready"
ERRORS = "dramatiq_message_errors_total"
OWED = "patient_notifier_alert_email_owed_seconds"
CASES = [
    # Ticks until minute 5, then none: stale once 10 minutes old, firing a minute later.
    _case({f"{TICK}{{{NS}}}": "0+60x5 300x30"}, "PatientNotifierReminderTickStale",
          [("15m", []), ("18m", [{"namespace": "pn", "severity": "critical"}])]),
    _case({f"{TICK}{{{NS}}}": "0+60x40"}, "PatientNotifierReminderTickStale", [("35m", [])]),
    # The alert tick's limit is tighter: 5 minutes. Its clock, not the reminder tick's.
    _case({f"{ALERT_TICK}{{{NS}}}": "0+60x3 180x20", f"{TICK}{{{NS}}}": "0+60x23"},
          "PatientNotifierAlertTickStale",
          [("8m", []), ("10m", [{"namespace": "pn", "severity": "critical"}])]),
    _case({f"{ALERT_TICK}{{{NS}}}": "0+60x20", f"{TICK}{{{NS}}}": "0x20"},
          "PatientNotifierAlertTickStale", [("19m", [])]),
    _case({f'{QUEUE}{{{NS},queue="priority",state="ready"}}': "0 3x10"},
          "PatientNotifierPriorityBacklog",
          [("4m", []), ("7m", [{"namespace": "pn", "severity": "critical"}])]),
    # Emptied between scrapes, a reminder backlog elsewhere, retries waiting: all normal.
    _case({f'{QUEUE}{{{NS},queue="priority",state="ready"}}': "3 0 3 0 3 0 3 0 3 0 3 0",
           f'{QUEUE}{{{NS},queue="sms",state="ready"}}': "5000x11",
           f'{QUEUE}{{{NS},queue="priority",state="delayed"}}': "40x11"},
          "PatientNotifierPriorityBacklog", [("10m", [])]),
    _case({f'{QUEUE}{{{NS},queue="sms",state="dead"}}': "0 0 2x10",
           f'{QUEUE}{{{NS},queue="email",state="dead"}}': "0x12"},
          "PatientNotifierDeadLetters",
          [("8m", [{"namespace": "pn", "queue": "sms", "severity": "warning"}])]),
    _case({f'{READY}{{{NS},pod="web-1",check="broker"}}': "1 1 0x10",
           f'{READY}{{{NS},pod="web-1",check="database"}}': "1x12",
           f'{READY}{{{NS},pod="web-2",check="broker"}}': "1x12"},
          "PatientNotifierNotReady",
          [("5m", []), ("8m", [{"namespace": "pn", "pod": "web-1", "check": "broker",
                                "severity": "critical"}])]),
    _case({f"{TICK}{{{NS}}}": "0+60x15"}, "PatientNotifierMetricsMissing",
          [("11m", [{"severity": "critical"}])]),
    _case({f'{READY}{{{NS},pod="web-1",check="broker"}}': "1x15"},
          "PatientNotifierMetricsMissing", [("12m", [])]),
    _case({f'{ERRORS}{{{NS},queue_name="priority",actor_name="send_alert_email"}}': "0+1x30"},
          "PatientNotifierAlertEmailFailing",
          [("10m", []), ("17m", [{"namespace": "pn", "severity": "warning"}])]),
    # One failure that its retry fixed, and another actor failing: no alert.
    _case({f'{ERRORS}{{{NS},queue_name="priority",actor_name="send_alert_email"}}': "0 1x30",
           f'{ERRORS}{{{NS},queue_name="sms",actor_name="send_notification"}}': "0+1x30"},
          "PatientNotifierAlertEmailFailing", [("12m", []), ("20m", [])]),
    _case({f"{OWED}{{{NS}}}": "0+60x30"}, "PatientNotifierAlertEmailOverdue",
          [("15m", []), ("18m", [{"namespace": "pn", "severity": "critical"}])]),
    _case({f"{OWED}{{{NS}}}": "0 60 120 0x20"}, "PatientNotifierAlertEmailOverdue",
          [("20m", [])]),
]


def test_each_rule_fires_when_it_should_and_stays_quiet_otherwise(tmp_path):
    write_rule_file(rule_objects("prod")["patient-notifier"], tmp_path / "rules.yaml",
                    annotations=False)
    assert {case["alert_rule_test"][0]["alertname"] for case in CASES} == ALERTS
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(
        {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": CASES}))
    result = run_promtool("test", "rules", "tests.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_unit_tests_catch_a_rule_that_never_fires(tmp_path):
    obj = copy.deepcopy(rule_objects("prod")["patient-notifier"])
    rule = next(r for r in obj["spec"]["groups"][0]["rules"]
                if r["alert"] == "PatientNotifierDeadLetters")
    rule["expr"] = rule["expr"].replace('state="dead"', 'state="dead-letter"')
    write_rule_file(obj, tmp_path / "rules.yaml", annotations=False)
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(
        {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": CASES}))
    result = run_promtool("test", "rules", "tests.yaml", cwd=tmp_path)
    assert result.returncode != 0 and "PatientNotifierDeadLetters" in result.stdout + result.stderr


def test_every_alert_has_a_severity_a_summary_and_a_runbook_section():
    # A `# comment` in a shell example is no heading.
    text = re.sub(r"^```.*?^```", "", (ROOT / "docs" / "operations.md").read_text(),
                  flags=re.MULTILINE | re.DOTALL)
    sections = {github_anchor(line.lstrip("#")) for line in text.splitlines()
                if line.startswith("#")}
    for rule in alerting_rules():
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        path, anchor = rule["annotations"]["runbook_url"].split("#")
        assert path == "docs/operations.md", rule["alert"]
        assert anchor == github_anchor(rule["alert"]) and anchor in sections, rule["alert"]


def test_no_rule_text_carries_patient_data_labels():
    """Alerts are e-mailed and paged outside the cluster: counts, queues and pods only."""
    for rule in alerting_rules():
        text = " ".join([rule["expr"], *rule.get("annotations", {}).values()])
        assert not re.search(r"patient_id|phone|email_address|given_name|family_name", text)


def test_metric_names_finds_the_selected_series_only():
    expr = ('sum by (namespace, queue) (increase(dramatiq_message_errors_total'
            '{actor_name="send_alert_email", x="a{b}"}[10m] offset 5m)) > 0 '
            'or on (namespace) absent(patient_notifier_ready) and time() - max(up) > 1e3')
    assert metric_names(expr) == {"dramatiq_message_errors_total", "patient_notifier_ready",
                                  "up"}
