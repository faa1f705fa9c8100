"""A real nginx (Debian's package) in front of gunicorn running the app as deployed, with the
YooKassa sandbox and a real Celery worker: the client address is the right-most untrusted hop of
X-Forwarded-For (`TRUSTED_PROXIES`), so a webhook from an allowed address through the proxy is
accepted and applied, one with a spoofed header is refused, and download tokens stay out of the
access log.

Addresses: every 127.0.0.0/8 address is this machine's loopback, so the "YooKassa" client
connects from 127.0.0.5 (the allowed webhook range in this test), an attacker from 127.0.0.9,
and nginx talks to gunicorn from 127.0.0.1 (the trusted proxy).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from audit.models import AuditEntry
from payments.models import PaymentIntent, WebhookEvent
from sandboxes.yookassa import YooKassaSandbox, notification
from tests.helpers.kiosk import make_kiosk, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
YOOKASSA = "127.0.0.5"
ATTACKER = "127.0.0.9"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{what} did not listen on {port}")


def _test_database_url() -> str:
    url = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))


def request(
    port: int, method: str, path: str, *, source: str, body: dict | None = None, **headers: str
) -> tuple[int, bytes]:
    """One HTTP request from the local address `source`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20, source_address=(source, 0))
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        headers.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, payload


class Stack:
    def __init__(self, nginx_port: int, gunicorn_port: int, access_log: Path) -> None:
        self.nginx_port = nginx_port
        self.gunicorn_port = gunicorn_port
        self.access_log = access_log


@pytest.fixture
def sandbox(settings) -> Iterator[YooKassaSandbox]:
    box = YooKassaSandbox().start()
    settings.PAYMENTS_PROVIDER = "yookassa"
    settings.YOOKASSA_SHOP_ID = "123456"
    settings.YOOKASSA_SECRET_KEY = "test_sandbox_secret"
    settings.YOOKASSA_API_URL = box.api_url
    yield box
    box.stop()


@pytest.fixture
def stack(tmp_path: Path, sandbox: YooKassaSandbox, redis_client) -> Iterator[Stack]:
    assert Path(NGINX).exists(), "nginx: deploy/local/system-libs.sh --tests installs it"
    gunicorn_port, nginx_port = _free_port(), _free_port()
    access_log = tmp_path / "gunicorn-access.log"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "PAYMENTS_PROVIDER": "yookassa",
        "YOOKASSA_SHOP_ID": "123456",
        "YOOKASSA_SECRET_KEY": "test_sandbox_secret",
        "YOOKASSA_API_URL": sandbox.api_url,
        "YOOKASSA_WEBHOOK_IPS": f"{YOOKASSA}/32",
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "4",
    }
    gunicorn = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            "--config",
            "deploy/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{gunicorn_port}",
            "--access-logfile",
            str(access_log),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "gunicorn.log").open("wb"),
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/nginx-error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    server {{
        listen 127.0.0.1:{nginx_port};
        location / {{
            proxy_pass http://127.0.0.1:{gunicorn_port};
            proxy_bind 127.0.0.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""
    )
    nginx = subprocess.Popen(
        [NGINX, "-c", str(conf), "-p", str(tmp_path), "-e", str(tmp_path / "nginx-error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(gunicorn_port, gunicorn, "gunicorn")
        _wait_listening(nginx_port, nginx, "nginx")
        yield Stack(nginx_port, gunicorn_port, access_log)
    finally:
        nginx.terminate()
        gunicorn.terminate()
        nginx.wait(timeout=20)
        gunicorn.wait(timeout=30)


def _paid_intent(stack: Stack, sandbox: YooKassaSandbox) -> dict:
    k = make_kiosk()
    auth = {"Authorization": f"Kiosk {k.token}"}
    status, raw = request(
        stack.nginx_port,
        "POST",
        "/api/sessions",
        source=ATTACKER,
        body={"type": "diagnostics", "contact": {"email": "client@example.com"}},
        **auth,
    )
    assert status == 201, raw
    session = json.loads(raw)
    status, raw = request(
        stack.nginx_port,
        "POST",
        "/api/payments/intent",
        source=ATTACKER,
        body={"session_id": session["id"]},
        **auth,
    )
    assert status == 201, raw
    intent = json.loads(raw)
    sandbox.set_status(intent["provider_payment_id"], "succeeded")
    return intent


def test_webhook_through_nginx_from_an_allowed_address_is_accepted(
    stack, sandbox, celery_worker
) -> None:
    intent = _paid_intent(stack, sandbox)
    body = notification(
        "payment.waiting_for_capture", sandbox.public(intent["provider_payment_id"])
    )

    status, raw = request(
        stack.nginx_port, "POST", "/api/payments/webhook", source=YOOKASSA, body=body
    )
    assert status == 200, raw
    wait_for(lambda: PaymentIntent.objects.get(pk=intent["id"]).status == "succeeded")
    event = WebhookEvent.objects.get()
    assert event.remote_ip == YOOKASSA  # the client behind the proxy, not the proxy
    entry = AuditEntry.objects.get(action="payment.webhook_received")
    assert entry.summary["ip"] == YOOKASSA


def test_a_spoofed_forwarded_for_through_nginx_is_refused(stack, sandbox) -> None:
    intent = _paid_intent(stack, sandbox)
    body = notification(
        "payment.waiting_for_capture", sandbox.public(intent["provider_payment_id"])
    )

    status, _ = request(
        stack.nginx_port,
        "POST",
        "/api/payments/webhook",
        source=ATTACKER,
        body=body,
        **{"X-Forwarded-For": YOOKASSA},
    )
    assert status == 403
    # Straight to gunicorn (no proxy in between), the header is not believed either.
    status, _ = request(
        stack.gunicorn_port,
        "POST",
        "/api/payments/webhook",
        source=ATTACKER,
        body=body,
        **{"X-Forwarded-For": YOOKASSA},
    )
    assert status == 403
    assert not WebhookEvent.objects.exists()
    assert PaymentIntent.objects.get(pk=intent["id"]).status == "pending"


def test_download_tokens_never_reach_the_access_log(stack) -> None:
    token = "eyJyIjoiMTIzIn0:1vABCD:secret-signature-part"
    status, _ = request(stack.nginx_port, "GET", f"/reports/download/{token}", source=ATTACKER)
    assert status == 404
    deadline = time.monotonic() + 10
    while "/reports/download/" not in stack.access_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = stack.access_log.read_text()
    assert "/reports/download/***" in log
    assert "secret-signature-part" not in log
