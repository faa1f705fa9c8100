"""The isolation walk: every registered ModelAdmin of a site, as a member of another owner —
changelist, change, delete, history, each action, autocomplete and export — and what leaked."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.db.models import Model
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tenancy.cabinet.options import ScopeMixin

REFUSED = {403, 404}


def victim_rows(model_admin: Any, owner_id: int) -> list[Model]:
    field = getattr(model_admin, "owner_field", None)
    if field is None:
        return []
    return list(model_admin.model._default_manager.filter(**{field: owner_id})[:2])


def snapshot(site: AdminSite, owner_id: int) -> dict[str, list[dict[str, Any]]]:
    return {
        model._meta.label: sorted(
            (
                {k: str(v) for k, v in row.items()}
                for row in model._default_manager.filter(
                    pk__in=[r.pk for r in victim_rows(ma, owner_id)]
                ).values()
            ),
            key=str,
        )
        for model, ma in site._registry.items()
    }


def _url(site: AdminSite, name: str, *args: Any) -> str | None:
    try:
        return reverse(f"{site.name}:{name}", args=args)
    except NoReverseMatch:
        return None


def walk(site: AdminSite, client: Client, *, owner_id: int, marker: str) -> list[str]:
    """What a member of another owner could see or change of `owner_id`'s rows (empty: none)."""
    problems: list[str] = []
    before = snapshot(site, owner_id)

    def check(label: str, response: Any, *, refused_ok: bool = True) -> None:
        if response.status_code in REFUSED or response.status_code == 302:
            return
        body = response.content.decode(errors="replace")
        if marker in body:
            problems.append(f"{label}: shows {marker!r}")

    for model, ma in site._registry.items():
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        rows = victim_rows(ma, owner_id)
        changelist = _url(site, f"{info}_changelist")
        if changelist:
            response = client.get(changelist)
            platform_only = not isinstance(ma, ScopeMixin) or ma.owner_field is None
            if platform_only and response.status_code not in REFUSED:
                problems.append(f"{changelist}: platform-only page answers {response.status_code}")
            check(changelist, response)
            for row in rows:
                if f"/{row.pk}/change/" in response.content.decode(errors="replace"):
                    problems.append(f"{changelist}: links the victim's row {row.pk}")
        for row in rows:
            for view in ("change", "delete", "history"):
                url = _url(site, f"{info}_{view}", row.pk)
                if url is None:
                    continue
                response = client.get(url)
                if response.status_code not in REFUSED:
                    problems.append(f"{url}: answers {response.status_code}")
                response = client.post(url, {"post": "yes"})
                if response.status_code not in REFUSED:
                    problems.append(f"POST {url}: answers {response.status_code}")
        if changelist and rows:
            for name in [*list(ma.actions or []), "delete_selected"]:
                name = name if isinstance(name, str) else name.__name__
                response = client.post(
                    changelist,
                    {"action": name, "_selected_action": [r.pk for r in rows], "post": "yes"},
                )
                check(f"action {name} on {changelist}", response)
        for field in getattr(ma, "autocomplete_fields", []):
            url = _url(site, "autocomplete")
            response = client.get(
                url or "",
                {
                    "app_label": model._meta.app_label,
                    "model_name": model._meta.model_name,
                    "field_name": field,
                    "term": "",
                },
            )
            check(f"autocomplete {info}.{field}", response)
        for export in ("export", "finance"):
            for fmt in ("csv",):
                url = _url(site, f"{info}_{export}", fmt) if export == "export" else None
                if export == "finance" and model._meta.model_name == "transaction":
                    url = _url(site, "vendista_finance_export", fmt)
                if url:
                    check(url, client.get(url))
    after = snapshot(site, owner_id)
    for label, rows_before in before.items():
        if after[label] != rows_before:
            problems.append(f"{label}: the victim's rows changed")
    return problems
