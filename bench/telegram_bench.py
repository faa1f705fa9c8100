"""Throughput of Telegram delivery: 2,000 messages to 200 chats through real Celery workers into
the local Bot API sandbox, checking Telegram's limits from the sandbox's arrival times.

    make bench            (or: .venv/bin/python bench/telegram_bench.py)

Uses DATABASE_URL (migrated on start) and its own Redis database (REDIS_DB, default 14, flushed
on start) so a running `make run` worker never takes the benchmark's tasks: on a shared machine
pick a database no other worker consumes. Prints `name=value` lines; exits 1 unless every message
arrived within the limits. BENCH_MESSAGES, BENCH_CHATS, BENCH_CONCURRENCY, BENCH_WORKER_LOG.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("REDIS_DB", "14")

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "2000"))
CHATS = int(os.environ.get("BENCH_CHATS", "200"))
CONCURRENCY = os.environ.get("BENCH_CONCURRENCY", "8")
TOKEN = "000000:BENCH-token"  # noqa: S105 - the sandbox accepts any token
FIRST_CHAT = 7_000_000_000


def main() -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from celery_app import app
    from core.ratelimit import RateLimiter
    from core.redis import get_redis
    from notifications.models import Delivery, DeliveryStatus
    from notifications.services import enqueue_delivery, queue_message, rate_buckets
    from sandboxes.telegram import TelegramSandbox

    call_command("migrate", verbosity=0)
    get_redis().flushdb()  # the benchmark's own Redis database: queues and rate buckets
    sandbox = TelegramSandbox().start()
    chats = [str(FIRST_CHAT + i) for i in range(CHATS)]
    limiter = RateLimiter()
    for chat in chats:
        limiter.reset(rate_buckets(chat, is_group=False))
    Delivery.objects.filter(template="bench").delete()

    rows = []
    for n in range(MESSAGES):
        rows += queue_message(
            recipient=chats[n % CHATS],
            template="bench",
            text=f"<b>Бенчмарк</b>\nтестовое сообщение № {n}",
            enqueue=False,
        )
    ids = [row.pk for row in rows]

    env = dict(os.environ)
    env.update(
        TELEGRAM_PROVIDER="telegram",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=sandbox.url,
        LOG_LEVEL="WARNING",
    )
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            *(sys.executable, "-m", "celery", "-A", "celery_app", "worker", "-Q", "notifications"),
            *("-P", "threads", "-c", CONCURRENCY, "--without-gossip", "--without-mingle"),
            *("-l", "warning"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ.get("BENCH_WORKER_LOG", os.devnull), "w"),  # noqa: SIM115
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=1.0):
            if time.monotonic() > deadline:
                print("error=worker did not start", flush=True)
                return 1
        started = time.time()
        for pk in ids:
            enqueue_delivery(pk)
        deadline = time.monotonic() + 900
        sent = 0
        while time.monotonic() < deadline:
            sent = Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.SENT).count()
            if sent == len(ids):
                break
            time.sleep(0.5)
        finished = time.time()
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()

    times = sorted(message.at for message in sandbox.messages)
    telegram_minimum = max(MESSAGES / 30.0, (MESSAGES / CHATS - 1) / 1.0)
    configured_minimum = max(
        MESSAGES / settings.TELEGRAM_BOT_RATE, (MESSAGES / CHATS - 1) / settings.TELEGRAM_CHAT_RATE
    )
    span = times[-1] - times[0] if times else 0.0
    gap = sandbox.min_gap_per_chat()
    per_chat = sandbox.max_per_chat_in_window(1.0)
    overall = sandbox.max_global_in_window(1.0)
    lines = {
        "messages": MESSAGES,
        "chats": CHATS,
        "worker_threads": CONCURRENCY,
        "sent": sent,
        "received_by_sandbox": len(sandbox.messages),
        "max_per_chat_in_1s": per_chat,
        "min_gap_same_chat_s": f"{gap:.3f}" if gap is not None else "n/a",
        "max_global_in_1s": overall,
        "duration_s": f"{finished - started:.1f}",
        "send_span_s": f"{span:.1f}",
        "theoretical_min_s": f"{telegram_minimum:.1f}",
        "configured_min_s": f"{configured_minimum:.1f}",
        "overhead_vs_theoretical": f"{(finished - started) / telegram_minimum:.2f}",
        "cpu_count": os.cpu_count(),
    }
    for name, value in lines.items():
        print(f"{name}={value}", flush=True)
    Delivery.objects.filter(template="bench").delete()
    sandbox.stop()
    ok = sent == MESSAGES and per_chat == 1 and overall <= 30
    print(f"ok={str(ok).lower()}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
