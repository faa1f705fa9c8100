"""Import benchmark: 50,000 Vendista transactions through the real pipeline into PostgreSQL,
against a PostgreSQL COPY of the same rows measured in the same run as the ceiling.

    make bench            (or: .venv/bin/python bench/import_bench.py [--rows N])

The sandbox runs in its own process (no artificial latency) so the importing process's peak
memory is its own. Both Vendista rate limits are raised for the run. Ends with one
`name=value` line per figure; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_FRESH_RATIO = 0.25
TARGET_REIMPORT_RATIO = 0.5
TARGET_PEAK_RSS_MB = 200
BENCH_DAY = date(2026, 11, 20)
SANDBOX_SCRIPT = """
import sys, time
from datetime import date
from sandboxes.vendista import VendistaSandbox, generate_account, generate_bulk_transactions
account = generate_account("bench", "bench-pw", seed="bench", terminals=4, days=1, per_day=5,
                           machine_items=8, end=date(2026, 11, 19))
generate_bulk_transactions(account, int(sys.argv[1]), date(2026, 11, 20))
server = VendistaSandbox(accounts=[account]).start()
print(server.url, flush=True)
while True:
    time.sleep(3600)
"""


def bench_database_url() -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vendkiosk")
    return base.rsplit("/", 1)[0] + "/vendkiosk_bench"


def setup_django() -> None:
    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    limit = str(100_000)
    os.environ["VENDISTA_RATE_PER_TOKEN"] = limit
    os.environ["VENDISTA_RATE_GLOBAL"] = limit
    os.environ["VENDISTA_PAGE_SIZE"] = "1000"
    # prometheus_client turns multiprocess mode on when the variable merely exists.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    import psycopg

    admin_url = bench_database_url().rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = 'vendkiosk_bench'"
        ).fetchone()
        if exists:
            conn.execute("DROP DATABASE vendkiosk_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE vendkiosk_bench")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    setup_django()

    from decimal import Decimal

    from django.db import connection

    from core.clock import MOSCOW
    from inventory.models import Inventory, Location, Recipe, RecipeItem
    from tenancy.models import Owner
    from vendista.models import RunKind, Terminal, VendistaAccount
    from vendista.services import accounts, runs

    sandbox = subprocess.Popen(  # noqa: S603 - our interpreter, our module
        [sys.executable, "-c", SANDBOX_SCRIPT, str(args.rows)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sandbox.stdout is not None
        url = sandbox.stdout.readline().strip()
        from django.conf import settings

        settings.VENDISTA_API_URL = url
        owner = Owner.objects.create(name="Бенчмарк")
        account = VendistaAccount.objects.create(owner=owner)
        accounts.set_credentials(account, "bench", "bench-pw")
        run = runs.create_run(owner.pk, kind=RunKind.SYNC, trigger="bench")
        assert run is not None
        runs.execute_run(run.pk)
        for terminal in Terminal.objects.filter(owner=owner):
            for item in range(1, 9):
                recipe = Recipe.objects.create(terminal=terminal, machine_item_id=item, name="x")
                RecipeItem.objects.bulk_create(
                    RecipeItem(recipe=recipe, item_name=name, quantity=Decimal(qty))
                    for name, qty in (("Кофе", 10), ("Вода", 150), ("Стаканы", 1), ("Сахар", 2))
                )
        Inventory.objects.filter(owner=owner, location=Location.MACHINE).update(
            current_stock=Decimal(10**8)
        )
        window = (
            datetime.combine(BENCH_DAY, dtime.min, MOSCOW),
            datetime.combine(BENCH_DAY, dtime(23, 59, 59), MOSCOW),
        )

        profile = os.environ.get("BENCH_PROFILE")
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        fresh = runs.run_now(owner.pk, window=window, trigger="bench")
        fresh_s = time.perf_counter() - started
        started = time.perf_counter()
        again = runs.run_now(owner.pk, window=window, trigger="bench")
        reimport_s = time.perf_counter() - started
        if profile:
            profiler.disable()
            profiler.dump_stats(profile)
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        assert fresh.status == again.status == "succeeded", (fresh.error, again.error)
        assert fresh.inserted == args.rows and again.inserted == 0, (fresh, again)
        assert again.updated == args.rows and again.deducted == 0

        # The ceiling: COPY of the same rows into a scratch table of the same shape (its
        # indexes included), the median of three runs.
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_copy (LIKE vendista_transaction INCLUDING ALL)")
            cursor.execute("SELECT * FROM vendista_transaction WHERE owner_id = %s", [owner.pk])
            columns = [col.name for col in cursor.description]
            rows = cursor.fetchall()
        raw = connection.connection
        statement = f"COPY bench_copy ({', '.join(columns)}) FROM STDIN"
        copy_times = []
        for _attempt in range(3):
            with raw.cursor() as cursor:
                cursor.execute("TRUNCATE bench_copy")
            raw.commit() if not raw.autocommit else None
            started = time.perf_counter()
            with raw.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
            raw.commit() if not raw.autocommit else None
            copy_times.append(time.perf_counter() - started)
        copy_s = sorted(copy_times)[1]
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)

    copy_rate = len(rows) / copy_s
    fresh_rate = args.rows / fresh_s
    reimport_rate = args.rows / reimport_s
    figures = {
        "rows": args.rows,
        "pages": fresh.pages,
        "copy_rows_per_s": round(copy_rate),
        "fresh_tx_per_s": round(fresh_rate),
        "fresh_ratio": round(fresh_rate / copy_rate, 3),
        "reimport_tx_per_s": round(reimport_rate),
        "reimport_ratio": round(reimport_rate / copy_rate, 3),
        "peak_rss_mb": round(peak_rss_mb, 1),
    }
    print(
        f"import of {args.rows} transactions ({fresh.pages} pages, {fresh.deducted} deducted): "
        f"{fresh_s:.2f} s; re-import {reimport_s:.2f} s; COPY {copy_s:.2f} s"
    )
    checks = [
        ("fresh_ratio", figures["fresh_ratio"] >= TARGET_FRESH_RATIO, f">= {TARGET_FRESH_RATIO}"),
        (
            "reimport_ratio",
            figures["reimport_ratio"] >= TARGET_REIMPORT_RATIO,
            f">= {TARGET_REIMPORT_RATIO}",
        ),
        ("peak_rss_mb", figures["peak_rss_mb"] < TARGET_PEAK_RSS_MB, f"< {TARGET_PEAK_RSS_MB}"),
    ]
    for name, ok, target in checks:
        print(f"target {name} {target}: {'met' if ok else 'MISSED'}")
    for name, value in figures.items():
        print(f"{name}={value}")
    return 0 if all(ok for _name, ok, _target in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
