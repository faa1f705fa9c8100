"""A test-only task, loaded into a worker subprocess with `celery worker -I`: it hands the
worker's log handlers a record made without the logging record factory (as a record forwarded
from another process or built by a library is), so only the handlers' own PII filter, the one
celery_app's `after_setup_logger` hook installs, stands between it and the log output."""

from __future__ import annotations

import logging

from celery import shared_task


@shared_task(name="tests.log_record_made_elsewhere")
def log_record_made_elsewhere(*, text: str) -> None:
    """Pass one INFO record, built by `makeLogRecord`, to the worker's handlers."""
    record = logging.makeLogRecord(
        {"name": "tests.elsewhere", "levelno": logging.INFO, "levelname": "INFO", "msg": text}
    )
    logging.getLogger("tests.elsewhere").handle(record)
