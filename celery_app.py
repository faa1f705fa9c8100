"""The Celery application: configuration from Django settings (CELERY_ namespace), tasks
discovered in every installed app's tasks.py."""

from __future__ import annotations

import logging
import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

from core import worker_metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("vendkiosk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["core"])
# A worker host serves its own /metrics when WORKER_METRICS_PORT is set (core/worker_metrics.py).
worker_metrics.connect()


@after_setup_logger.connect
@after_setup_task_logger.connect
def mask_pii_in_worker_logs(logger: logging.Logger, **kwargs: object) -> None:
    """Celery replaces the root handlers in a worker: put the PII filter on its handlers too."""
    from core.logging import PiiMaskingFilter

    for handler in logger.handlers:
        if not any(isinstance(f, PiiMaskingFilter) for f in handler.filters):
            handler.addFilter(PiiMaskingFilter())
