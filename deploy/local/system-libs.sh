#!/usr/bin/env bash
# System packages loaded at run time: Pango, HarfBuzz subsetting and a Cyrillic font for
# WeasyPrint (PDF reports); with --tests (make test) also Debian's chromium, which the kiosk
# screen's browser tests drive through Playwright (no browser is downloaded), nginx (the reverse
# proxy in front of gunicorn in tests/payments/test_behind_proxy.py), wrk (the load generator
# of bench/kiosk_api_bench.py) and prometheus (promtool tests of the alert rules, and the real
# Prometheus that fires the payment alert in tests/payments/test_prometheus_alert.py). Installed with apt
# when missing and running as root; otherwise says what to do.
set -euo pipefail
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)
purpose="PDF reports"
if [ "${1:-}" = "--tests" ]; then
  packages+=(chromium nginx-light wrk prometheus)
  purpose="PDF reports, the kiosk screen and reverse-proxy tests, the API benchmark, alert tests"
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "[libs] installing ${missing[*]} for $purpose ..."
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "[libs] $purpose need: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
