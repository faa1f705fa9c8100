"""The logging filter masks e-mails and phones in messages, arguments and exception text."""

from __future__ import annotations

import io
import logging

from core.logging import PiiMaskingFilter, mask_record


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    # Built directly (not through the factory) to test the filter alone.
    return logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, exc_info)


def test_filter_masks_message_arguments_and_exception_text() -> None:
    try:
        raise ValueError("bad address boss@example.com")
    except ValueError as error:
        record = _record("sent to %s and %s", "ivan@mail.ru", "+7 916 123-45-67", exc=error)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PiiMaskingFilter())
    handler.handle(record)
    out = stream.getvalue()
    assert "sent to i***@mail.ru and +7******4567" in out
    assert "b***@example.com" in out
    assert "ivan@mail.ru" not in out and "boss@example.com" not in out and "123-45-67" not in out


def test_records_are_masked_when_made_whatever_handler_gets_them(caplog) -> None:
    caplog.set_level(logging.INFO)
    logging.getLogger("kiosk.anything").info("contact %s", {"phone": "+79161234567"})
    assert caplog.messages == ["contact {'phone': '+7******4567'}"]


def test_masking_is_idempotent() -> None:
    record = mask_record(_record("to %s", "a.b@c.ru"))
    assert mask_record(record).getMessage() == "to a***@c.ru"


def test_record_rebuilt_by_make_log_record_is_masked_by_the_handler_filter() -> None:
    """`makeLogRecord` has the factory mask an empty record, then fills in the real message."""
    record = logging.makeLogRecord({"msg": "client ivan@mail.ru, +79161234567", "args": None})
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PiiMaskingFilter())
    handler.handle(record)
    assert stream.getvalue() == "client i***@mail.ru, +7******4567\n"


def test_settings_put_the_filter_on_the_console_handler(settings) -> None:
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["pii"]
    assert settings.LOGGING["filters"]["pii"]["()"] == "core.logging.PiiMaskingFilter"
