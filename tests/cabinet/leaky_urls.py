"""A test-only admin site with one admin left unscoped on purpose, to prove the walk fails."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import path

from config.urls import urlpatterns as product_urls
from tenancy.cabinet import scope
from tenancy.cabinet.options import CabinetModelAdmin
from tenancy.cabinet.site import CabinetSite
from vendista.models import Terminal


class UnscopedTerminalAdmin(CabinetModelAdmin):
    """Claims to be owner-scoped and opens to every role, but forgets to filter."""

    owner_field = "owner"
    view_roles = scope.EVERY_ROLE
    list_display = ["name", "owner"]

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset


leaky_site = CabinetSite(name="leaky")
leaky_site.register(Terminal, UnscopedTerminalAdmin)

urlpatterns = [path("leaky/", leaky_site.urls), *product_urls]
