"""Local stand-ins for the outside services vendkiosk talks to, one module per service.

They answer the subset of each API the product uses, record every request, and fail on demand
(HTTP 5xx, 429 with Retry-After, the provider's own error codes, slow answers), so tests,
`make run` (DEV), offline development and the benchmarks never reach a real provider.

Plain Python: they import the standard library, third-party packages and `core` only, never
Django settings or a product app, and run without Django. Nothing in the product imports them,
except the demo seeding (`vendista/demo.py`: the demo account's credentials and terminals).

- `sandboxes.vendista`  Vendista API (`VENDISTA_API_URL`), with demo accounts and faults:
                        `python -m sandboxes.vendista --port 8099` (`make run` starts it on 8010)
- `sandboxes.yookassa`  YooKassa v3 payments (`YOOKASSA_API_URL`): in-process only,
                        `YooKassaSandbox().start()`
- `sandboxes.telegram`  Telegram Bot API (`TELEGRAM_API_URL`):
                        `python -m sandboxes.telegram --port 8081`
- `sandboxes.sendgrid`  SendGrid Mail Send (`SENDGRID_API_URL`):
                        `python -m sandboxes.sendgrid --port 8084`
- `sandboxes.smsc`      SMSC.ru send.php (`SMSC_API_URL`): `python -m sandboxes.smsc --port 8082`
- `sandboxes.twilio`    Twilio Messages (`TWILIO_API_URL`): `python -m sandboxes.twilio --port 8083`
- `sandboxes.smtp`      an SMTP server (`SMTP_HOST`/`SMTP_PORT`, no TLS; needs aiosmtpd, a dev
                        dependency): `python -m sandboxes.smtp --port 8025`

In tests each one is a context manager on a free port (`with SmscSandbox() as smsc: ...`);
`sandboxes.base` holds the HTTP plumbing they share.
"""
