"""The printable pick list (WeasyPrint, A4, the reports' DejaVu fonts embedded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from core.clock import as_moscow
from inventory.reference import units
from planning.models import PickList

FONT_DIR = Path(settings.BASE_DIR) / "reports" / "static" / "reports"


def pick_list_context(pick_list: PickList) -> dict[str, Any]:
    unit_of = units()
    stops: list[dict[str, Any]] = []
    by_terminal: dict[int, dict[str, Any]] = {}
    for line in pick_list.lines.select_related("terminal").order_by("position", "item_name"):
        stop = by_terminal.get(line.terminal_id)
        if stop is None:
            stop = by_terminal[line.terminal_id] = {"terminal": str(line.terminal), "lines": []}
            stops.append(stop)
        stop["lines"].append({"line": line, "unit": unit_of.get(line.item_name, "")})
    totals = [{**row, "unit": unit_of.get(row["item_name"], "")} for row in pick_list.totals]
    return {
        "pick_list": pick_list,
        "stops": stops,
        "totals": totals,
        "created_at": as_moscow(pick_list.created_at),
        "has_shortfall": pick_list.has_shortfall(),
    }


def _local_fetcher() -> Any:
    from weasyprint.urls import URLFetcher

    class LocalOnlyFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("file://"):
                path = Path(url.removeprefix("file://").split("?")[0]).resolve()
                if not path.is_relative_to(FONT_DIR):
                    raise ValueError(f"pick list may not read {url}")
            elif not url.startswith("data:"):
                raise ValueError(f"pick list may not fetch {url}")
            return super().fetch(url, headers)

    return LocalOnlyFetcher(allowed_protocols=("file", "data"), allow_redirects=False)


def render_pick_list_pdf(pick_list: PickList) -> bytes:
    """The pick list as PDF bytes. Imports WeasyPrint here: it loads Pango. Reads only."""
    from weasyprint import HTML

    html = render_to_string("planning/pick_list.html", pick_list_context(pick_list))
    pdf: bytes = HTML(
        string=html, base_url=FONT_DIR.as_uri() + "/", url_fetcher=_local_fetcher()
    ).write_pdf()
    return pdf
