from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("Inventory")

    def ready(self) -> None:
        # The stock-change digest's rows are marked notified when its last part is final.
        from inventory.digest import DIGEST_KIND, mark_changes_notified
        from notifications import digests

        digests.on_complete(DIGEST_KIND, mark_changes_notified)
