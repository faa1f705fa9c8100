"""The OpenAPI schema shows an example body for every staff operation that takes one, and the
schema itself validates without warnings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from drf_spectacular.generators import SchemaGenerator

from tests.helpers.api_schema import acts_for_owner

ROOT = Path(__file__).resolve().parents[2]


def test_every_staff_operation_with_a_json_body_has_a_request_example():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    missing = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None or not acts_for_owner(path):
                continue
            if not body.get("examples") and "example" not in body:
                missing.append(f"{method.upper()} {path}")
    assert not missing, "operations without a request example:\n" + "\n".join(sorted(missing))


def test_schema_generation_has_no_warnings():
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
