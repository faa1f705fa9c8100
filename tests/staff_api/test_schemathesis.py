"""Schemathesis against the live OpenAPI schema with a seeded database: generated requests for
every operation (valid and invalid) never get a 5xx and every response matches the schema.

Bounded: a fixed number of examples per operation and a fixed seed, so a run takes about a
minute and is repeatable; change SEED locally to explore further.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token

from tenancy.models import Role
from tests.helpers.coffee_shop import seed_shop
from tests.helpers.kiosk import make_kiosk
from tests.helpers.tenancy import make_tenant

pytestmark = pytest.mark.django_db(transaction=True)

SEED = 20261129
EXAMPLES = 8
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "schemathesis"
KIOSK_PATHS = r"^/api/(kiosk|sessions|payments|reports)/"


def digest(result: subprocess.CompletedProcess[str], name: str) -> str:
    """The failing operations and what failed (schemathesis' full output is long)."""
    keep = re.compile(
        r"^(_{3,} .* _{3,}|\s+- ST\d+ .*|\s*\[\d{3}\] .*|.*(Selected|Tested|rror).*)$"
    )
    lines = [line for line in result.stdout.splitlines() if keep.match(line)]
    log = ARTIFACTS / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(result.stdout + result.stderr)
    return "\n".join(lines[-150:]) + f"\n(full output: {log})\n" + result.stderr[-2000:]


def schemathesis(
    url: str, header: str, *filters: str, report: Path
) -> subprocess.CompletedProcess[str]:
    # The schema as /api/schema/ serves it, read once here (a kiosk token may not fetch it).
    schema_file = report.with_suffix(".schema.json")
    schema_file.write_text(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))
    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert executable, "schemathesis is a dev dependency: make venv installs it"
    return subprocess.run(
        [
            executable,
            "run",
            str(schema_file),
            "--url",
            url,
            "--header",
            header,
            "--checks",
            CHECKS,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            str(EXAMPLES),
            "--seed",
            str(SEED),
            "--workers",
            "2",
            "--request-timeout",
            "20",
            "--suppress-health-check",
            "all",
            "--no-color",
            "--report",
            "junit",
            "--report-junit-path",
            str(report),
            *filters,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_staff_api_survives_generated_requests(live_server, redis_client, tmp_path):
    owner = make_tenant(Role.OWNER)
    colleague = make_tenant(Role.SERVICE, owner=owner.owner)
    seed_shop(owner.owner, marker="S", assignee=colleague.user)
    seed_shop(make_tenant().owner, marker="Other")
    token = Token.objects.get(user=owner.user).key
    result = schemathesis(
        live_server.url,
        f"Authorization: Token {token}",
        "--exclude-path-regex",
        KIOSK_PATHS,
        report=tmp_path / "staff.xml",
    )
    assert result.returncode == 0, digest(result, "staff")
    assert "operations" in result.stdout.lower() or "Tested" in result.stdout


def test_kiosk_api_survives_generated_requests(live_server, redis_client, tmp_path):
    kiosk = make_kiosk()
    make_kiosk()  # another owner's kiosk, so ids of foreign rows exist
    result = schemathesis(
        live_server.url,
        f"Authorization: Kiosk {kiosk.token}",
        "--include-path-regex",
        KIOSK_PATHS,
        report=tmp_path / "kiosk.xml",
    )
    assert result.returncode == 0, digest(result, "kiosk")
