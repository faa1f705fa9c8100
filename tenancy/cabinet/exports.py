"""CSV and Excel files of admin rows (Python's csv, openpyxl): one header row, then a row per
object, values as the screen shows them (choices as words, times in the business time zone)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.text import capfirst, slugify
from openpyxl import Workbook

FORMATS = {"csv": "CSV", "xlsx": "Excel"}
Column = tuple[Any, Any]  # (header, attribute name / dotted path / callable of a row)
Cell = str | int | float | Decimal | None


def cell(row: Any, accessor: str | Callable[[Any], Any]) -> Cell:
    if callable(accessor):
        value = accessor(row)
    else:
        value = row
        for part in accessor.split("."):
            display = getattr(value, f"get_{part}_display", None)
            value = display() if callable(display) else getattr(value, part, None)
            if value is None:
                break
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "да" if value else "нет"
    if value is None or isinstance(value, int | float | Decimal):
        return value
    return str(value)


def table(columns: Sequence[Column], rows: Iterable[Any]) -> Iterable[list[Cell]]:
    yield [capfirst(str(header)) for header, _accessor in columns]
    for row in rows:
        yield [cell(row, accessor) for _header, accessor in columns]


def render(fmt: str, lines: Iterable[Sequence[Cell]]) -> tuple[bytes, str]:
    """File bytes and content type of `lines` as CSV (UTF-8 with BOM, for Excel) or XLSX."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";")
        for line in lines:
            writer.writerow(["" if value is None else value for value in line])
        return ("\ufeff" + buffer.getvalue()).encode(), "text/csv; charset=utf-8"
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for line in lines:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in line])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def respond(fmt: str, name: str, columns: Sequence[Column], rows: Iterable[Any]) -> HttpResponse:
    return file_response(fmt, name, table(columns, rows))


def file_response(fmt: str, name: str, lines: Iterable[Sequence[Cell]]) -> HttpResponse:
    content, content_type = render(fmt, lines)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    filename = f"{slugify(name, allow_unicode=False) or 'export'}-{stamp}.{fmt}"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
