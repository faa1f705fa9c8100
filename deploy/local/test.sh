#!/usr/bin/env bash
# `make test`: find or start PostgreSQL and Redis, then lint, type-check, check migrations and
# run the whole test suite against them. Private instances started here are stopped at the end
# (and a PostgreSQL cluster created here is deleted: its data is the tests').
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.venv/bin:$PATH"

bash deploy/local/system-libs.sh --tests
python deploy/local/services.py up --env-file var/test-services.env
set -a; . var/test-services.env; set +a
trap 'python deploy/local/services.py down --purge --only "$VK_STARTED_SERVICES"' EXIT

echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy"
mypy .
echo "== migrations"
python manage.py makemigrations --check --dry-run
echo "== pytest"
# Parallel processes (pytest-xdist), one test file per process at a time; VK_TEST_WORKERS=0 runs
# everything in this one process. With ARGS, one run with those arguments. Then the short seeded
# chaos run (tests/chaos, marker `chaos`: its own private stack, about two minutes) on its own,
# after the suite; VK_CHAOS=0 leaves it out (for a quick local run; CI runs it). Then the
# multi-host tests (tests/scaleout, marker `multihost`: worker hosts as network namespaces, root
# only, about two and a half minutes); VK_MULTIHOST=0 leaves them out.
workers=${VK_TEST_WORKERS:-3}
# tests.helpers.parallel gives each process its own Redis database before Django starts.
parallel=(-p tests.helpers.parallel -n "$workers" --dist loadfile)
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ "$#" -gt 0 ]; then
  if [ "$workers" = "0" ]; then pytest "$@"; else pytest "${parallel[@]}" "$@"; fi
  exit
fi
status=0
if [ "$workers" = "0" ]; then
  pytest -m "not chaos and not multihost" || status=$?
else
  pytest "${parallel[@]}" -m "not chaos and not multihost" || status=$?
fi
if [ "${VK_CHAOS:-1}" = "1" ]; then
  echo "== pytest: the short chaos run"
  pytest -m chaos tests/chaos || status=$?
fi
if [ "${VK_MULTIHOST:-1}" = "1" ]; then
  echo "== pytest: several worker hosts (network namespaces)"
  pytest -m multihost tests/scaleout || status=$?
fi
exit "$status"
