"""E-mails and phones logged inside tasks are masked in a real worker's log output
(`celery -A celery_app worker -l info` as a subprocess, its output captured).

Two layers mask: the record factory (core.logging) and the filter celery_app's
`after_setup_logger` hook puts on the worker's handlers. The report delivery test passes with
either; the second test feeds a record the factory could not mask, so it needs the hook."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile

from reports.models import Report
from reports.tasks import generate_report
from tests.helpers.kiosk import THICKNESS, make_kiosk, paid_session, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "ivan.petrov@mail.ru"
PHONE = "+79161234567"
RAW = (EMAIL, PHONE, PHONE[1:], "916123")


def _database_url() -> str:
    """The test database (pytest-django's), so the subprocess sees this test's rows."""
    db = django_settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def worker_log(tmp_path, redis_client) -> Iterator[Callable[[], str]]:
    """A worker subprocess on the `reports`, `notifications` and `default` queues; yields a
    function that stops it and returns everything it wrote."""
    out = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "MEDIA_ROOT": str(tmp_path),
        "EMAIL_PROVIDER": "dev",
        "SMS_PROVIDER": "dev",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "celery_app", "worker", "-l", "info",
        "-P", "solo", "-Q", "reports,notifications,default", "-n", f"pii-{uuid.uuid4().hex[:8]}@%h",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
        "-I", "tests.helpers.worker_logging",
    ]  # fmt: skip
    with out.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: " ready." in out.read_text(errors="replace") or process.poll(), 60)
        assert process.poll() is None, out.read_text(errors="replace")

        def stop() -> str:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
            return out.read_text(errors="replace")

        yield stop
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_report_delivery_lines_are_masked_in_worker_output(worker_log, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path  # the worker's MEDIA_ROOT too
    k = make_kiosk()
    session = paid_session(k, email=EMAIL, phone=PHONE)
    report = Report.objects.create(session=session, kind="thickness", data=THICKNESS)
    report.file.save("report.pdf", ContentFile(b"%PDF-1.4\n%%EOF\n"))
    # A stored PDF is kept: the task records the e-mail and SMS deliveries, the worker sends them.
    generate_report.delay(report_id=str(report.pk))

    wait_for(lambda: Report.objects.get(pk=report.pk).status == "delivered", timeout=30)
    output = worker_log()

    assert f"report {report.pk} sent by email to i***@mail.ru" in output
    assert f"report {report.pk} sent by sms to +7******4567" in output
    for raw in RAW:
        assert raw not in output


def test_worker_handlers_mask_records_made_outside_the_record_factory(worker_log) -> None:
    from tests.helpers.worker_logging import log_record_made_elsewhere

    result = log_record_made_elsewhere.delay(text=f"client {EMAIL}, phone {PHONE}")
    result.get(timeout=30)
    output = worker_log()

    assert "client i***@mail.ru, phone +7******4567" in output, output
    for raw in RAW:
        assert raw not in output
