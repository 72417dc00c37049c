#!/bin/sh
# Issue 17's figures: import and match a statement of N entries (camt.053, then MT940) against a store
# synced from a miles-mock of N contracts, release build. Prints each import's wall time, entries/s and
# peak memory (GNU time's maximum resident set). Not in `make bench` yet.
#
#   swift build -c release --product miles-adapter && swift build -c release --product miles-mock
#   bench/bank/import.sh [N]          # default 1000000
set -eu
N="${1:-1000000}"
BIN="$(swift build -c release --show-bin-path)"
WORK="$(mktemp -d)"
trap 'kill "$MOCK" 2>/dev/null || true; rm -rf "$WORK"' EXIT
cp -R mappings "$WORK/mappings"
# The bench's payments quote only the contract number: the shipped threshold (80) would send them all to
# a person. At 70 the contract number alone allocates, so the allocation path (outbox included) is measured.
sed -i 's/^allocateAt: 80/allocateAt: 70/' "$WORK/mappings/bank/northern-example-bank.yaml"
python3 bench/bank/statement.py "$N" camt "$WORK/statement.xml" "$N"
python3 bench/bank/statement.py "$N" mt940 "$WORK/statement.sta" "$N"
"$BIN/miles-mock" --contracts "$N" --seed 2026 --port 0 > "$WORK/mock.out" 2>&1 &
MOCK=$!
until grep -q 'http://' "$WORK/mock.out" 2>/dev/null; do sleep 0.2; done
ENDPOINT="$(grep -o 'http://[^ ]*' "$WORK/mock.out" | head -1)"
export MILES_ADAPTER_ENDPOINT="$ENDPOINT" MILES_ADAPTER_USERNAME=collections-adapter MILES_ADAPTER_PASSWORD=mock-miles-password \
    MILES_ADAPTER_DATABASE="$WORK/store.sqlite" MILES_ADAPTER_MAPPINGS="$WORK/mappings" MILES_ADAPTER_STATEMENTS="$WORK/kept"
"$BIN/miles-adapter" sync contracts > /dev/null 2>&1
for file in statement.xml statement.sta; do
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$BIN/miles-adapter" bank import "$WORK/$file" | grep -v "^MILES calls\|^entries to check"
    read -r SECONDS_TAKEN PEAK_KB < "$WORK/time"
    echo "$file: $N entries in $SECONDS_TAKEN s = $(echo "$N / $SECONDS_TAKEN" | bc) entries/s, peak $((PEAK_KB / 1024)) MB"
done
