"""How stock reads on the cabinet's screens: quantities with their unit, fill bars coloured by
the critical level."""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from inventory.models import Inventory
from inventory.reference import units


def unit_label(unit: str | None) -> str:
    return {"g": _("g"), "ml": _("ml"), "pcs": _("pcs")}.get(unit or "", "")


def quantity(value: Decimal | None, item_name: str) -> str:
    """`12 500 г`, `1,5 мл`, `800 шт`: whole numbers unless the value has a fraction (then one
    or two decimals); pieces are always whole."""
    if value is None:
        return "—"
    unit = units().get(item_name)
    if unit == "pcs" or value == value.to_integral_value():
        number = f"{value:,.0f}"
    else:
        number = f"{value:,.2f}".rstrip("0").rstrip(".")
    number = number.replace(",", "\u00a0").replace(".", ",")
    label = unit_label(unit)
    return f"{number}\u00a0{label}" if label else number


def fill_state(row: Inventory) -> str:
    if row.is_critical():
        return "critical"
    percent = row.fill_percentage()
    if percent is not None and row.critical_stock is not None and row.max_stock:
        warn = row.critical_stock * 2
        if row.current_stock <= warn:
            return "low"
    return "ok"


def fill_bar(row: Inventory) -> SafeString:
    """A bar of the fill level, red at or below the critical level, amber below twice it."""
    percent = row.fill_percentage()
    if percent is None:
        return format_html('<span class="cab-muted">{}</span>', _("no capacity set"))
    state = fill_state(row)
    label = {"critical": _("below critical"), "low": _("low"), "ok": _("ok")}[state]
    return format_html(
        '<span class="cab-fill cab-fill-{state}" role="img" aria-label="{pct}%, {label}">'
        '<span class="cab-fill-bar" style="width:{width}%"></span></span>'
        '<span class="cab-fill-text">{pct}% · {label}</span>',
        state=state,
        pct=percent,
        width=max(0, min(percent, 100)),
        label=label,
    )
