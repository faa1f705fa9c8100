"""The sandboxes are plain Python: they load without Django or any product app, import each other
without circles, and each one runs on its own (`python -m sandboxes.<service>`) until SIGTERM."""

from __future__ import annotations

import ast
import os
import re
import signal
import smtplib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sandboxes"
# Everything a sandbox must not import: Django, the settings and every product app.
FORBIDDEN = (
    "django",
    "rest_framework",
    "celery",
    "celery_app",
    "config",
    "audit",
    "inventory",
    "kiosk",
    "notifications",
    "payments",
    "reports",
    "tasks_app",
    "tenancy",
    "vendista",
)


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path) -> set[str]:
    """Every module an import statement anywhere in the file names (function-level and
    TYPE_CHECKING imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_sandboxes_import_no_django_and_no_product_app() -> None:
    offending = {
        name: sorted(n for n in _imports(path) if n.split(".")[0] in FORBIDDEN)
        for name, path in _modules().items()
    }

    assert {name: found for name, found in offending.items() if found} == {}


def test_sandboxes_have_no_import_cycles() -> None:
    modules = _modules()
    graph = {
        name: {n for n in _imports(path) if n in modules and n != name}
        for name, path in modules.items()
    }
    cycles: list[list[str]] = []

    def visit(name: str, path: list[str]) -> None:
        for target in sorted(graph[name]):
            if target in path:
                cycles.append([*path[path.index(target) :], target])
            else:
                visit(target, [*path, target])

    for name in sorted(graph):
        visit(name, [name])

    assert cycles == []


def test_every_sandbox_loads_with_django_and_the_apps_unavailable() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"for name in {FORBIDDEN!r}:\n"
        "    sys.modules[name] = None\n"
        "import sandboxes\n"
        "for module in pkgutil.walk_packages(sandboxes.__path__, 'sandboxes.'):\n"
        "    if not module.name.endswith('__main__'):\n"
        "        importlib.import_module(module.name)\n"
        "print(len([name for name in sys.modules if name.startswith('sandboxes')]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= len(_modules()) - 1


def _probe_telegram(url: str) -> None:
    answer = requests.post(
        f"{url}/botTEST/sendMessage", json={"chat_id": 42, "text": "hi"}, timeout=5
    )
    assert answer.json()["ok"] is True
    assert requests.get(f"{url}/_sandbox/messages", timeout=5).json()[0]["text"] == "hi"


def _probe_smsc(url: str) -> None:
    form = {"login": "l", "psw": "p", "phones": "79161234567", "mes": "hi", "fmt": "3"}
    assert requests.post(f"{url}/sys/send.php", data=form, timeout=5).json()["cnt"] == 1


def _probe_twilio(url: str) -> None:
    sid = "AC" + "0" * 32
    answer = requests.post(
        f"{url}/2010-04-01/Accounts/{sid}/Messages.json",
        data={"To": "+79161234567", "From": "+15005550006", "Body": "hi"},
        auth=(sid, "sandbox-auth-token"),
        timeout=5,
    )
    assert answer.status_code == 201 and answer.json()["sid"].startswith("SM")


def _probe_sendgrid(url: str) -> None:
    answer = requests.post(f"{url}/v3/mail/send", json={"subject": "hi"}, timeout=5)
    assert answer.status_code == 202 and answer.headers["X-Message-Id"]


def _probe_smtp(url: str) -> None:
    host, port = url.removeprefix("smtp://").split(":")
    with smtplib.SMTP(host, int(port), timeout=5) as client:
        assert client.sendmail("a@vk.example", ["b@vk.example"], "Subject: hi\n\nhi") == {}


@pytest.mark.parametrize(
    ("module", "probe"),
    [
        ("sandboxes.telegram", _probe_telegram),
        ("sandboxes.smsc", _probe_smsc),
        ("sandboxes.twilio", _probe_twilio),
        ("sandboxes.sendgrid", _probe_sendgrid),
        ("sandboxes.smtp", _probe_smtp),
    ],
)
def test_sandbox_runs_from_the_command_line_until_sigterm(
    module: str, probe: Callable[[str], None]
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"(http|smtp)://127\.0\.0\.1:\d+", first)
        assert match, first
        probe(match.group(0))
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "stopped" in output
