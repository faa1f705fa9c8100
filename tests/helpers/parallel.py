"""Parallel test processes (pytest-xdist) keep out of each other's way: each gets its own Redis
database (15, 14, ... counting down from REDIS_DB) — pytest-django already gives each its own
test database (`test_<name>_gw<n>`).

Loaded with `-p tests.helpers.parallel` (deploy/local/test.sh does), so it runs before Django
reads its settings.
"""

from __future__ import annotations

import os

_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw"):
    _base = int(os.environ.get("REDIS_DB", "15"))
    os.environ["REDIS_DB"] = str(max(_base - int(_worker[2:]), 1))
