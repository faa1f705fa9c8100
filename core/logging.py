"""PII masking for logs: e-mail addresses and phone numbers never reach a log line unmasked.

Two layers, both built on `core.pii.mask_text` (and masking signed download tokens too):

- `PiiMaskingFilter`, set on the handlers in `LOGGING` and on Celery's handlers (celery_app.py):
  masks the message with its arguments and the formatted exception text;
- `install_record_masking()`, called at the end of settings: a LogRecord factory doing the same
  when a record is made, so handlers added by others (pytest's capture, a library's own) get
  masked records too.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from core.pii import mask_text as mask_pii

# Signed download links (`.../download/<token>`): whoever reads the log line could fetch the
# report, so the token never reaches one (the access log, "Not Found: ..." lines, tracebacks).
_SIGNED_LINK = re.compile(r"(/download/)[^\s/?#\"']+")


def mask_text(value: str) -> str:
    """Mask PII and download tokens in one log text."""
    return _SIGNED_LINK.sub(r"\1***", mask_pii(value))


# Holds the message as it was masked: a record whose message was replaced since is masked again.
_MASKED_FLAG = "_pii_masked"


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Merge the arguments into the message, mask it; mask exception and stack text. Idempotent.

    A record counts as masked only while it still carries the message that was masked:
    `logging.makeLogRecord` (records rebuilt from another process) has the factory make an
    empty record and only then fills in the real message."""
    if not record.args and getattr(record, _MASKED_FLAG, None) == record.msg:
        return record
    try:
        message = record.getMessage()
    except Exception:  # a malformed format string: keep both parts, masked
        message = f"{record.msg!r} % {record.args!r}"
    record.msg = mask_text(message)
    record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    if record.exc_text:
        record.exc_text = mask_text(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_text(record.stack_info)
    setattr(record, _MASKED_FLAG, record.msg)
    return record


class PiiMaskingFilter(logging.Filter):
    """A handler filter that masks every record passing through; it never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


_installed = False


def install_record_masking() -> None:
    """Wrap the LogRecord factory so every record is masked at creation. Safe to call twice."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return mask_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True
