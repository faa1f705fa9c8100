"""`manage.py rotate_vendista_keys`: re-encrypt every stored Vendista secret with the newest key
of VENDISTA_ENCRYPTION_KEYS, so an old key can then be removed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from vendista import crypto
from vendista.models import VendistaAccount

SECRETS = ("login_encrypted", "password_encrypted", "token_encrypted")


class Command(BaseCommand):
    help = "Re-encrypt owners' Vendista credentials and tokens with the newest key."

    def handle(self, *args: Any, **options: Any) -> None:
        rotated = 0
        with transaction.atomic():
            for account in VendistaAccount.objects.select_for_update().order_by("pk"):
                try:
                    for field in SECRETS:
                        setattr(account, field, crypto.rotate(getattr(account, field)))
                except crypto.DecryptionError as exc:
                    raise CommandError(
                        f"owner {account.owner_id}: a secret matches none of the keys; "
                        "nothing was changed"
                    ) from exc
                account.save(update_fields=[*SECRETS, "updated_at"])
                rotated += 1
        self.stdout.write(f"{rotated} Vendista connection(s) re-encrypted with the newest key")
