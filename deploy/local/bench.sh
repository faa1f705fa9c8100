#!/usr/bin/env bash
# `make bench`: find or start PostgreSQL and Redis, then run every bench/*_bench.py in turn,
# then the restock forecast backtest (bench/forecast_backtest.py).
# Each prints its figures as name=value lines; a missed target makes the run fail.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.venv/bin:$PATH"

python deploy/local/services.py up --env-file var/bench-services.env
set -a; . var/bench-services.env; set +a
trap 'python deploy/local/services.py down --only "$VK_STARTED_SERVICES"' EXIT

status=0
for script in bench/*_bench.py; do
  echo "== $script"
  python "$script" || status=1
done
# The restock forecast backtest (no database; prints name=value lines like the others).
echo "== bench/forecast_backtest.py"
python bench/forecast_backtest.py || status=1
exit $status
