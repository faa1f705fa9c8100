"""E-mail channels: SMTP through Django's mail, and SendGrid's Web API v3 through its SDK.

Both send one message to one address, with its attachments, and map the provider's answer to
the channel contract: a bad address or a refusal is permanent, a timeout, a dropped connection,
a 4xx SMTP reply, a 5xx or a 429 from SendGrid is transient.
"""

from __future__ import annotations

import base64
import logging
import smtplib
from email.utils import make_msgid, parseaddr
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.smtp import EmailBackend
from django.core.validators import validate_email
from django.utils.html import strip_tags

from core.pii import mask_text
from notifications.channels._retry import retry_after_seconds
from notifications.channels.base import DeliveryError, OutgoingMessage, SendResult

logger = logging.getLogger(__name__)


def _checked_address(recipient: str) -> str:
    address = recipient.strip()
    try:
        validate_email(address)
    except ValidationError:
        raise DeliveryError(
            f"invalid e-mail address {mask_text(address)!r}", permanent=True
        ) from None
    return address


def _bodies(message: OutgoingMessage) -> tuple[str, str | None]:
    """(plain text, HTML or None): an HTML message gets a plain-text part for simple clients."""
    if message.html:
        return strip_tags(message.text), message.text
    return message.text, None


def _sender_domain(from_email: str) -> str:
    return parseaddr(from_email)[1].rpartition("@")[2] or "localhost"


class SmtpEmailChannel:
    """Sends through the SMTP server named by `SMTP_HOST` (Django's SMTP backend)."""

    kind: ClassVar[str] = "email"
    name: ClassVar[str] = "smtp"

    def __init__(self) -> None:
        if not settings.SMTP_HOST:
            raise ImproperlyConfigured("SMTP_HOST: is required when EMAIL_PROVIDER=smtp")
        self.from_email: str = settings.EMAIL_FROM
        self.timeout: float = settings.EMAIL_TIMEOUT

    def _connection(self) -> EmailBackend:
        return EmailBackend(
            host=settings.SMTP_HOST,
            port=settings.SMTP_PORT,
            username=settings.SMTP_USER or "",
            password=settings.SMTP_PASS or "",
            use_tls=settings.SMTP_USE_TLS,
            use_ssl=settings.SMTP_USE_SSL,
            timeout=self.timeout,
            fail_silently=False,
        )

    def send(self, message: OutgoingMessage) -> SendResult:
        address = _checked_address(message.recipient)
        plain, html = _bodies(message)
        domain = _sender_domain(self.from_email)
        # A repeat after a crash keeps its Message-ID, so mail clients can collapse the copy.
        message_id = f"<vk-{message.key}@{domain}>" if message.key else make_msgid(domain=domain)
        connection = self._connection()
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=plain,
            from_email=self.from_email,
            to=[address],
            headers={"Message-ID": message_id},
            connection=connection,
        )
        if html is not None:
            email.attach_alternative(html, "text/html")
        for attachment in message.attachments:
            email.attach(attachment.filename, attachment.content, attachment.mimetype)
        try:
            sent = connection.send_messages([email])
        except smtplib.SMTPException as exc:
            raise self._error(exc, address) from exc
        except OSError as exc:  # timeouts, refused connections, TLS failures
            logger.warning("smtp: %s sending to %s", type(exc).__name__, mask_text(address))
            raise DeliveryError(
                f"SMTP connection failed: {type(exc).__name__}", permanent=False
            ) from exc
        if not sent:
            raise DeliveryError("SMTP backend sent nothing", permanent=False)
        return SendResult(provider_id=message_id)

    def _error(self, exc: smtplib.SMTPException, address: str) -> DeliveryError:
        masked = mask_text(address)
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _reply in exc.recipients.values()]
            # A 4xx refusal (greylisting, mailbox busy) may pass later; 5xx will not.
            permanent = not codes or any(code >= 500 for code in codes)
            logger.warning("smtp: recipient %s refused with %s", masked, codes)
            return DeliveryError(f"SMTP recipient refused ({codes})", permanent=permanent)
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            logger.warning("smtp: server disconnected while sending to %s", masked)
            return DeliveryError("SMTP server disconnected", permanent=False)
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            logger.error("smtp: configuration error: %s", mask_text(str(exc)))
            return DeliveryError(f"SMTP server does not support: {exc}", permanent=True)
        if isinstance(exc, smtplib.SMTPResponseException):
            reply = exc.smtp_error
            text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
            detail = f"SMTP {exc.smtp_code} {mask_text(text)}"
            if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPSenderRefused):
                logger.error("smtp: configuration error (SMTP_USER/EMAIL_FROM): %s", detail)
            else:
                logger.warning("smtp: %s sending to %s", detail, masked)
            return DeliveryError(detail, permanent=exc.smtp_code >= 500)
        logger.warning("smtp: %s sending to %s", type(exc).__name__, masked)
        return DeliveryError(f"SMTP error: {type(exc).__name__}", permanent=False)


class SendGridEmailChannel:
    """Sends through SendGrid's `POST /v3/mail/send` (`SENDGRID_API_URL`, a sandbox in tests)."""

    kind: ClassVar[str] = "email"
    name: ClassVar[str] = "sendgrid"

    def __init__(self) -> None:
        if not settings.SENDGRID_API_KEY:
            raise ImproperlyConfigured("SENDGRID_API_KEY: is required when EMAIL_PROVIDER=sendgrid")
        from sendgrid import SendGridAPIClient

        self.from_email: str = settings.EMAIL_FROM
        self.timeout: float = settings.EMAIL_TIMEOUT
        self._client = SendGridAPIClient(
            api_key=settings.SENDGRID_API_KEY, host=settings.SENDGRID_API_URL.rstrip("/")
        )

    def _payload(self, message: OutgoingMessage, address: str) -> dict[str, Any]:
        from sendgrid.helpers.mail import (
            Attachment,
            Disposition,
            FileContent,
            FileName,
            FileType,
            Mail,
        )

        plain, html = _bodies(message)
        mail = Mail(
            from_email=self.from_email,
            to_emails=address,
            subject=message.subject or None,
            plain_text_content=plain,
            html_content=html,
        )
        for item in message.attachments:
            mail.add_attachment(
                Attachment(
                    FileContent(base64.b64encode(item.content).decode("ascii")),
                    FileName(item.filename),
                    FileType(item.mimetype),
                    Disposition("attachment"),
                )
            )
        payload: dict[str, Any] = mail.get()
        return payload

    def send(self, message: OutgoingMessage) -> SendResult:
        from python_http_client.exceptions import HTTPError

        address = _checked_address(message.recipient)
        payload = self._payload(message, address)
        try:
            response = self._client.client.mail.send.post(
                request_body=payload, timeout=self.timeout
            )
        except HTTPError as exc:
            raise self._error(exc, address) from exc
        except OSError as exc:  # URLError, timeouts, refused connections
            logger.warning("sendgrid: %s sending to %s", type(exc).__name__, mask_text(address))
            raise DeliveryError(
                f"SendGrid unreachable: {type(exc).__name__}", permanent=False
            ) from exc
        return SendResult(provider_id=str(response.headers.get("X-Message-Id") or ""))

    def _error(self, exc: Any, address: str) -> DeliveryError:
        status = int(exc.status_code)
        body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body)
        detail = f"SendGrid {status}: {mask_text(body)[:500]}"
        if status == 429:
            headers = dict(exc.headers.items()) if exc.headers else None
            retry_after = retry_after_seconds(headers)
            logger.warning("sendgrid: rate limited, retry after %s s", retry_after)
            return DeliveryError(detail, permanent=False, retry_after=retry_after)
        if status >= 500:
            logger.warning("sendgrid: %s sending to %s", status, mask_text(address))
            return DeliveryError(detail, permanent=False)
        if status in (401, 403):
            logger.error("sendgrid: configuration error (SENDGRID_API_KEY/EMAIL_FROM): %s", detail)
        else:
            logger.warning("sendgrid: rejected message to %s: %s", mask_text(address), detail)
        return DeliveryError(detail, permanent=True)
