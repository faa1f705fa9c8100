"""The cabinet's stock operations and "apply preset": forms on their own admin pages that call
the same services as the staff API (logged, locked, validated there)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminDecimalFieldWidget, UnfoldAdminSelectWidget

from inventory import services as stock
from inventory.models import Inventory, Location, Recipe, RecipePreset
from tasks_app.services import move_stock
from tenancy.cabinet import scope
from vendista.models import Terminal

MAX_QUANTITY = Decimal("999999999.999")


def owner_terminals(request: HttpRequest) -> QuerySet[Terminal]:
    terminals = Terminal.objects.select_related("owner").order_by("owner_id", "name", "id")
    membership = scope.current_membership(request)
    if scope.is_platform_staff(request):
        return terminals
    if membership is None:
        return terminals.none()
    return terminals.filter(owner_id=membership.owner_id)


def place_choices(request: HttpRequest) -> list[tuple[str, str]]:
    """`warehouse:<owner>`, `stand:<terminal>`, `machine:<terminal>` for the caller's owner(s)."""
    terminals = list(owner_terminals(request))
    membership = scope.current_membership(request)
    owners = {t.owner_id: t.owner.name for t in terminals}
    if membership is not None:
        owners.setdefault(membership.owner_id, membership.owner.name)
    several = len(owners) > 1
    choices: list[tuple[str, str]] = []
    for owner_id, name in owners.items():
        label = str(Location.WAREHOUSE.label) + (f" — {name}" if several else "")
        choices.append((f"warehouse:{owner_id}", label))
    for terminal in terminals:
        for location in (Location.STAND, Location.MACHINE):
            choices.append((f"{location.value}:{terminal.pk}", f"{terminal} — {location.label}"))
    return choices


def parse_place(value: str, request: HttpRequest) -> tuple[int, stock.Place]:
    """The owner and the place named by a choice (only the caller's own; else a 400 field)."""
    location, _sep, raw_id = value.partition(":")
    if location == Location.WAREHOUSE:
        owner_id = int(raw_id)
        return owner_id, stock.Place(Location.WAREHOUSE)
    terminal = owner_terminals(request).get(pk=int(raw_id))
    return terminal.owner_id, stock.Place(location, terminal.pk)


class TransferForm(forms.Form):
    source = forms.ChoiceField(label=_("Source place"), widget=UnfoldAdminSelectWidget)
    destination = forms.ChoiceField(label=_("Destination place"), widget=UnfoldAdminSelectWidget)
    item_name = forms.ChoiceField(label=_("Ingredient"), widget=UnfoldAdminSelectWidget)
    quantity = forms.DecimalField(
        label=_("Quantity"),
        max_digits=12,
        decimal_places=3,
        min_value=Decimal("0.001"),
        max_value=MAX_QUANTITY,
        widget=UnfoldAdminDecimalFieldWidget,
    )

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        places = place_choices(request)
        for name, choices in (
            ("source", places),
            ("destination", places),
            ("item_name", item_choices(request)),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = choices


class AdjustForm(forms.Form):
    owner = forms.ChoiceField(label=_("Warehouse"), widget=UnfoldAdminSelectWidget)
    item_name = forms.CharField(label=_("Ingredient"), max_length=100)
    quantity = forms.DecimalField(
        label=_("Change (negative: write off)"),
        max_digits=12,
        decimal_places=3,
        min_value=-MAX_QUANTITY,
        max_value=MAX_QUANTITY,
        widget=UnfoldAdminDecimalFieldWidget,
    )

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ChoiceField)
        owner.choices = [
            (value.partition(":")[2], label)
            for value, label in place_choices(request)
            if value.startswith("warehouse:")
        ]


def item_choices(request: HttpRequest) -> list[tuple[str, str]]:
    rows = Inventory.objects.all()
    membership = scope.current_membership(request)
    if not scope.is_platform_staff(request):
        rows = rows.filter(owner_id=membership.owner_id if membership else -1)
    names = sorted(set(rows.values_list("item_name", flat=True)))
    return [(name, name) for name in names]


def render_form(
    admin_obj: Any, request: HttpRequest, form: forms.Form, title: Any, **extra: Any
) -> TemplateResponse:
    context = {
        **admin_obj.admin_site.each_context(request),
        "opts": admin_obj.model._meta,
        "title": title,
        "form": form,
        **extra,
    }
    return TemplateResponse(request, "cabinet/form_page.html", context)


class StockOperationsMixin:
    """Adds "Move stock" (every role) and "Adjust the warehouse" (owners, admins) pages."""

    def get_urls(self) -> list[Any]:
        site = self.admin_site  # type: ignore[attr-defined]
        return [
            path("transfer/", site.admin_view(self.transfer_view), name="inventory_transfer"),
            path("adjust/", site.admin_view(self.adjust_view), name="inventory_adjust"),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        context = {
            "may_transfer": scope.may(request, scope.EVERY_ROLE),
            "may_adjust": scope.may(request, scope.STAFF_ROLES),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)  # type: ignore[misc]

    def transfer_view(self, request: HttpRequest) -> HttpResponse:
        if not scope.may(request, scope.EVERY_ROLE):
            raise PermissionDenied
        form = TransferForm(request.POST or None, request=request)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                src_owner, source = parse_place(data["source"], request)
                dst_owner, destination = parse_place(data["destination"], request)
                if src_owner != dst_owner:
                    raise stock.StockError(
                        "destination", str(_("Both places must be one owner's."))
                    )
                result = move_stock(
                    src_owner,
                    source,
                    destination,
                    data["item_name"],
                    data["quantity"],
                    user_id=request.user.pk,
                )
            except (stock.StockError, Terminal.DoesNotExist, ValueError) as error:
                form.add_error(None, getattr(error, "message", str(_("Unknown place."))))
            else:
                text = _("Moved. Restock tasks completed: %(n)d") % {
                    "n": len(result.closed_task_ids)
                }
                messages.success(request, text)
                return HttpResponseRedirect(reverse("admin:inventory_inventory_changelist"))
        return render_form(self, request, form, _("Move stock"), submit_label=_("Move"))

    def adjust_view(self, request: HttpRequest) -> HttpResponse:
        if not scope.may(request, scope.STAFF_ROLES):
            raise PermissionDenied
        form = AdjustForm(request.POST or None, request=request)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                stock.adjust_warehouse(
                    int(data["owner"]), data["item_name"], data["quantity"], user_id=request.user.pk
                )
            except stock.StockError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("The warehouse stock was changed."))
                return HttpResponseRedirect(reverse("admin:inventory_inventory_changelist"))
        return render_form(
            self, request, form, _("Adjust the warehouse"), submit_label=_("Change the stock")
        )


class PresetForm(forms.Form):
    preset = forms.ModelChoiceField(
        label=_("Preset"), queryset=RecipePreset.objects.none(), widget=UnfoldAdminSelectWidget
    )


class ApplyPresetMixin:
    """The "apply preset" action: the chosen preset's ingredients replace those of each selected
    recipe (`inventory.services.save_recipe`; sales deduct by it from now on, history stays)."""

    @admin.action(description=_("Apply a preset to the selected recipes"))
    def apply_preset(self, request: HttpRequest, queryset: QuerySet[Recipe]) -> Any:
        presets = RecipePreset.objects.filter(owner__isnull=True)
        membership = scope.current_membership(request)
        if membership is not None:
            presets = RecipePreset.objects.filter(
                Q(owner_id=membership.owner_id) | Q(owner__isnull=True)
            )
        elif scope.is_platform_staff(request):
            presets = RecipePreset.objects.all()
        form = PresetForm(request.POST if "apply" in request.POST else None)
        preset_field = form.fields["preset"]
        assert isinstance(preset_field, forms.ModelChoiceField)
        preset_field.queryset = presets
        if "apply" in request.POST and form.is_valid():
            preset = form.cleaned_data["preset"]
            items = {item["item_name"]: Decimal(str(item["quantity"])) for item in preset.items}
            for recipe in queryset:
                stock.save_recipe(
                    recipe.terminal_id, recipe.machine_item_id, name=recipe.name, items=items
                )
            messages.success(
                request,
                _("Preset «%(preset)s» applied to %(n)d recipe(s); sales deduct by it from now on.")
                % {"preset": preset.name, "n": len(queryset)},
            )
            return None
        return render_form(
            self,
            request,
            form,
            _("Apply a preset"),
            action_name="apply_preset",
            submit_label=_("Apply"),
            selected=[str(pk) for pk in queryset.values_list("pk", flat=True)],
            objects=list(queryset),
        )
