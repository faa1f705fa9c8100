"""PDF report generation rate: reports per second in one process (WeasyPrint, the real template,
fonts and QR code), after a warm-up. No database needed.

    python bench/pdf_bench.py [--reports 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from kiosk.models import Kiosk, Session  # noqa: E402
from reports.models import Report  # noqa: E402
from reports.services import render_pdf  # noqa: E402
from tenancy.models import Owner  # noqa: E402

DATA = {
    "vehicle_make": "Toyota",
    "vehicle_model": "Camry",
    "vin": "JTNB11HK103456789",
    "dtc_codes": [
        {"code": f"P0{300 + i}", "description": "Пропуски зажигания в цилиндре", "severity": "high"}
        for i in range(8)
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=30)
    args = parser.parse_args()
    kiosk = Kiosk(owner=Owner(name="Бенчмарк"), name="Киоск", brand_name="АвтоПроверка")
    session = Session(kiosk=kiosk, type="diagnostics", ttl_ms=60_000)
    report = Report(session=session, kind="diagnostics", data=DATA)
    render_pdf(report)  # warm-up: imports, fonts
    sizes = []
    started = time.perf_counter()
    for _ in range(args.reports):
        sizes.append(len(render_pdf(report)))
    elapsed = time.perf_counter() - started
    print(f"pdf_reports={args.reports}")
    print(f"pdf_seconds_per_report={elapsed / args.reports:.3f}")
    print(f"pdf_reports_per_second_per_process={args.reports / elapsed:.2f}")
    print(f"pdf_bytes={sum(sizes) // len(sizes)}")


if __name__ == "__main__":
    main()
