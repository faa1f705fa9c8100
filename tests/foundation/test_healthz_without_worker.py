"""`/healthz` tells a load balancer when no Celery worker is alive (no worker runs here)."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_healthz_is_503_when_no_worker_answers(client: Client, settings, redis_client) -> None:
    settings.HEALTHZ_CELERY_TIMEOUT = 0.5

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["celery"]["ok"] is False
    assert "no Celery worker" in body["checks"]["celery"]["error"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True
