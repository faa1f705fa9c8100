"""The monitoring files cannot drift from the code: every alert rule passes `promtool check
rules` and its unit tests (`promtool test rules`, deploy/prometheus/tests/), every alert has a
test in which it fires, and every metric the alerts and both Grafana dashboards query is one
the app exposes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.test import Client

from core.metrics import BEAT_TICK_KEY

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARDS = sorted((ROOT / "deploy" / "grafana").glob("*-dashboard.json"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))
# Series Prometheus makes itself.
SYNTHETIC = {"up"}
_KEYWORDS = {
    "by", "without", "and", "or", "unless", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "inf", "nan",
}  # fmt: skip


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool missing: deploy/local/system-libs.sh --tests installs `prometheus`"
    return found


def alert_names() -> list[str]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule]


def test_the_rules_are_valid_and_their_unit_tests_pass() -> None:
    check = subprocess.run(
        [promtool(), "check", "rules", str(PROMETHEUS / "alerts.yml")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert RULE_TESTS
    tested = subprocess.run(
        [promtool(), "test", "rules", *map(str, RULE_TESTS)],
        capture_output=True,
        text=True,
        cwd=PROMETHEUS / "tests",
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_has_a_test_where_it_fires() -> None:
    firing: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                if check.get("exp_alerts"):
                    firing.add(check["alertname"])
    assert set(alert_names()) <= firing, set(alert_names()) - firing


def metric_names(promql: str) -> set[str]:
    """The series names a PromQL expression selects (functions, keywords, label names and
    matchers, durations and strings left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", promql)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names: set[str] = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        following = text[match.end() :].lstrip()
        if following.startswith("(") or match.group() in _KEYWORDS:
            continue
        if match.start() > 0 and (
            text[match.start() - 1].isdigit() or text[match.start() - 1] == "."
        ):
            continue  # a unit or exponent of a number: 1e3, 5m
        names.add(match.group())
    return names


def queried() -> dict[str, set[str]]:
    """Metric name -> where it is used (dashboards' targets and alert expressions)."""
    used: dict[str, set[str]] = {}
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                for name in metric_names(target["expr"]):
                    used.setdefault(name, set()).add(f"{path.name}: {panel['title']}")
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    for group in groups:
        for rule in group["rules"]:
            for name in metric_names(rule["expr"]):
                used.setdefault(name, set()).add(f"alerts.yml: {rule.get('alert')}")
    return used


def exposed(text: str) -> set[str]:
    """Every sample name the exposition can carry, from its `# TYPE` lines."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("_sum", "_count", "_created"),
        "gauge": ("",),
        "untyped": ("",),
    }
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            base = name.removesuffix("_total") if kind == "counter" else name
            names.update(base + suffix for suffix in suffixes.get(kind, ("",)))
    return names


def test_the_parser_finds_the_series_of_an_expression() -> None:
    expr = (
        'sum by (channel) (rate(notifications_deliveries_total{outcome=~"failed|x"}[15m]))'
        " / ignoring(channel) group_left sum(rate(x_total[1m] offset 5m)) > 0.1e3"
        " or time() - max(celery_beat_last_tick_timestamp_seconds) > 120"
    )
    assert metric_names(expr) == {
        "notifications_deliveries_total",
        "x_total",
        "celery_beat_last_tick_timestamp_seconds",
    }


@pytest.mark.django_db
def test_every_metric_the_dashboards_and_alerts_query_is_exposed(
    client: Client, redis_client
) -> None:
    redis_client.set(BEAT_TICK_KEY, "1")  # a beat has ticked: its gauge is on the page
    try:
        available = exposed(client.get("/metrics").content.decode()) | SYNTHETIC
    finally:
        redis_client.delete(BEAT_TICK_KEY)
    used = queried()
    assert len(used) > 20
    missing = {name: sorted(where) for name, where in used.items() if name not in available}
    assert not missing, missing


def test_grafana_provisions_both_dashboards_from_one_folder() -> None:
    grafana = ROOT / "deploy" / "grafana"
    provider = yaml.safe_load((grafana / "provisioning/dashboards/vendkiosk.yml").read_text())
    assert provider["providers"][0]["type"] == "file"
    source = yaml.safe_load((grafana / "provisioning/datasources/prometheus.yml").read_text())
    assert source["datasources"][0]["type"] == "prometheus"
    dashboards = [json.loads(path.read_text()) for path in DASHBOARDS]
    assert {d["uid"] for d in dashboards} == {"vendkiosk-kiosks", "vendkiosk-coffee"}
    for dashboard in dashboards:
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), dashboard["uid"]
