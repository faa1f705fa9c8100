"""The Vendista token and password never reach the logs, even at DEBUG."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from tests.vendista.coffee import connect_owner, import_window, sync
from tests.vendista.conftest import LAST_DAY
from vendista import crypto
from vendista.models import VendistaAccount

pytestmark = pytest.mark.django_db


def test_token_and_password_are_not_logged(sandbox, shop, caplog):
    caplog.set_level(logging.DEBUG)
    owner = connect_owner(shop)
    sandbox.set_faults(expire_token_after=1)  # refreshes happen and are logged
    sync(owner)
    import_window(owner, LAST_DAY - timedelta(days=1), LAST_DAY)

    token = crypto.decrypt(VendistaAccount.objects.get(owner=owner).token_encrypted)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "refreshing the token" in text
    assert token and token not in text
    assert "tok-" not in text
    assert shop.password not in text
