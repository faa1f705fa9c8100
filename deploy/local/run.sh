#!/usr/bin/env bash
# `make run`: the whole local stack in one terminal — web (gunicorn), Celery worker, beat and
# Flower — over PostgreSQL and Redis found locally or started privately under var/.
# Ctrl-C stops every process, and the private PostgreSQL/Redis this command started.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p var

python deploy/local/services.py up --env-file var/services.env
set -a; . var/services.env; set +a
trap 'python deploy/local/services.py down --only "$VK_STARTED_SERVICES"' EXIT

export PORT="${PORT:-8000}"
# The local Vendista sandbox stands in for api.vendista.ru unless VENDISTA_API_URL says otherwise.
export VENDISTA_SANDBOX_PORT="${VENDISTA_SANDBOX_PORT:-8010}"
export VENDISTA_API_URL="${VENDISTA_API_URL:-http://127.0.0.1:$VENDISTA_SANDBOX_PORT}"
export FLOWER_PORT="${FLOWER_PORT:-5555}"
if [ -z "${FLOWER_BASIC_AUTH:-}" ]; then
  [ -s var/flower-password ] || python -c 'import secrets; print(secrets.token_urlsafe(12))' > var/flower-password
  export FLOWER_BASIC_AUTH="flower:$(cat var/flower-password)"
fi
# Metrics from every web worker process land here and are summed at /metrics.
export PROMETHEUS_MULTIPROC_DIR="$PWD/var/prometheus"
rm -rf "$PROMETHEUS_MULTIPROC_DIR"; mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

python manage.py migrate --noinput
python manage.py collectstatic --noinput --verbosity 0
python manage.py seed_demo

base="http://127.0.0.1:$PORT"
cat <<INFO

vendkiosk is starting. Open:
  Kiosk screen $base/kiosk/#token=demo-kiosk-token-2026-dev-only   (the demo kiosk, DEV)
  Admin        $base/admin/          (log in as staff / staff-demo-2026)
  API docs     $base/api/docs/       (any demo login; API tokens above)
  Health       $base/healthz
  Metrics      $base/metrics
  Flower       http://127.0.0.1:$FLOWER_PORT/   (basic auth ${FLOWER_BASIC_AUTH})
  Vendista     $VENDISTA_API_URL   (sandbox: demo-vendista / demo-vendista-2026)
Ctrl-C stops everything.

INFO
# honcho stops every process as soon as one exits (a worker that died, a beat that crashed):
# nothing keeps running half-alive. Say so plainly, with the exit status.
set +e
honcho -f deploy/Procfile -d "$PWD" start
status=$?
set -e
if [ "$status" -ne 0 ]; then
  echo >&2
  echo "[run] a process of the stack exited (status $status), so every process was stopped;" \
    "its last lines are above. Run 'make run' again." >&2
fi
exit "$status"
