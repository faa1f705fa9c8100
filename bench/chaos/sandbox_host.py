"""The outside services of a chaos run in one process: Telegram, SendGrid, SMSC and YooKassa
sandboxes, plus a small control server the harness reads their logs from.

    python -m bench.chaos.sandbox_host --port 0      # prints one JSON line with the URLs

GET  /urls                    the sandboxes' base URLs
GET  /log                     what each provider received (messages, mails, SMS, payments, refunds)
POST /yookassa/succeed        {"payment_id": "..."}: the client paid (the PSP says `succeeded`)

The Vendista sandbox runs in its own process (`python -m sandboxes.vendista`): the harness
freezes it with SIGSTOP, which must not stop these.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sandboxes.sendgrid import SendGridSandbox
from sandboxes.smsc import SmscSandbox
from sandboxes.telegram import TelegramSandbox
from sandboxes.yookassa import YooKassaSandbox

SMSC_LOGIN = "chaos"
SMSC_PASSWORD = "chaos-sms-pw"


class Host:
    def __init__(self) -> None:
        self.telegram = TelegramSandbox().start()
        self.sendgrid = SendGridSandbox().start()
        self.smsc = SmscSandbox(login=SMSC_LOGIN, password=SMSC_PASSWORD).start()
        self.yookassa = YooKassaSandbox().start()

    def urls(self) -> dict[str, str]:
        return {
            "telegram": self.telegram.url,
            "sendgrid": self.sendgrid.url,
            "smsc": self.smsc.url,
            "yookassa": self.yookassa.api_url,
        }

    def log(self) -> dict[str, Any]:
        with self.telegram._lock:
            telegram = [asdict(m) for m in self.telegram.messages]
        mails = []
        for request in list(self.sendgrid.requests):
            body = request.json if isinstance(request.json, dict) else {}
            for personalization in body.get("personalizations", []):
                for to in personalization.get("to", []):
                    mails.append({"to": to.get("email", ""), "subject": body.get("subject", "")})
        sms = [
            {"phones": form.get("phones", [""])[0], "mes": form.get("mes", [""])[0]}
            for form in self.smsc.sent()
        ]
        state = self.yookassa.state
        with state.lock:
            payments = {
                pid: {"status": p["status"], "amount": p.get("amount")}
                for pid, p in state.payments.items()
            }
            refunds = [
                {"payment_id": r["payment_id"], "amount": r["amount"]}
                for r in state.refunds.values()
            ]
        return {
            "telegram": telegram,
            "email": mails,
            "sms": sms,
            "payments": payments,
            "refunds": refunds,
        }


def serve(host: Host, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/urls":
                self._answer(200, host.urls())
            elif self.path == "/log":
                self._answer(200, host.log())
            else:
                self._answer(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/yookassa/succeed":
                try:
                    host.yookassa.set_status(str(body["payment_id"]), "succeeded")
                except KeyError:
                    self._answer(404, {"error": "no such payment"})
                    return
                self._answer(200, host.yookassa.state.payments[str(body["payment_id"])])
            else:
                self._answer(404, {"error": "not found"})

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args()
    host = Host()
    server = serve(host, options.port)
    urls = {"control": f"http://127.0.0.1:{server.server_address[1]}", **host.urls()}
    print(json.dumps(urls), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
