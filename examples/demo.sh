#!/usr/bin/env bash
# The listwatch demo: load real government lists, then ask the Xiaomi questions.
# Run it with `make demo` (which sets LISTWATCH_DB to a fresh SQLite file under build/).
set -euo pipefail
cd "$(dirname "$0")/.."
lw=".venv/bin/listwatch"
lists=examples/lists

step() { printf '\n\033[1m$ listwatch %s\033[0m\n' "$*"; "$lw" "$@"; }

step ingest "$lists/ofac_sdn_csv/2019-01"
step ingest "$lists/ofac_sdn_csv/2021-07"
step ingest "$lists/ofac_cons_csv/2025-03"
step ingest "$lists/ofac_cons_csv/2025-04"
step ingest "$lists/us_dod_1237_ccmc/designations.csv" --list us_dod_1237_ccmc
step ingest "$lists/us_dod_1260h/sanctions.csv" --list us_dod_1260h
step lists

step history Xiaomi
step status Xiaomi --as-of 2021-02-01
step status Xiaomi --as-of 2021-03-13
step status Xiaomi --as-of 2021-06-01
step status isin:HK0941009539 --as-of 2021-09-01
step diff us_ofac_sdn --from 2019-01-01 --to 2021-07-01 --limit 5

# Screening (fuzzy, across scripts, as of a date): the index is built once, then cached.
step match "小米集团" --as-of 2021-02-01 --limit 3
step match "XIAOMI CORP" --as-of 2021-06-01 --limit 3

# What a listing means on a day: the purchase ban due, then suspended by the court.
step effect Xiaomi --as-of 2021-03-11
step effect Xiaomi --as-of 2021-03-16
