"""Vendista secrets are encrypted with rotatable keys: after `rotate_vendista_keys` the old key
can be dropped."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from tenancy.models import Owner
from vendista import crypto
from vendista.models import VendistaAccount
from vendista.services import accounts

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_rotation_re_encrypts_with_the_newest_key_so_the_old_one_can_go(settings) -> None:
    settings.VENDISTA_ENCRYPTION_KEYS = [OLD]
    account = VendistaAccount.objects.create(owner=Owner.objects.create(name="Кофе"))
    accounts.set_credentials(account, "shop-login", "shop-password", token="tok-1")
    before = VendistaAccount.objects.values_list("password_encrypted", flat=True).get()

    settings.VENDISTA_ENCRYPTION_KEYS = [NEW, OLD]
    assert crypto.decrypt(before) == "shop-password"  # the old key still reads
    out = StringIO()
    call_command("rotate_vendista_keys", stdout=out)

    settings.VENDISTA_ENCRYPTION_KEYS = [NEW]
    account.refresh_from_db()
    assert account.password_encrypted != before
    assert crypto.decrypt(account.login_encrypted) == "shop-login"
    assert crypto.decrypt(account.password_encrypted) == "shop-password"
    assert crypto.decrypt(account.token_encrypted) == "tok-1"
    assert "1 Vendista connection(s)" in out.getvalue()


def test_rotation_refuses_secrets_no_key_can_read_and_changes_nothing(settings) -> None:
    settings.VENDISTA_ENCRYPTION_KEYS = [OLD]
    account = VendistaAccount.objects.create(owner=Owner.objects.create(name="Кофе"))
    accounts.set_credentials(account, "shop-login", "shop-password")
    stored = VendistaAccount.objects.values_list("login_encrypted", flat=True).get()

    settings.VENDISTA_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(CommandError, match="none of the keys"):
        call_command("rotate_vendista_keys", stdout=StringIO())

    assert VendistaAccount.objects.values_list("login_encrypted", flat=True).get() == stored
