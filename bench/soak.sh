#!/usr/bin/env bash
# Long-run memory check (issue 8): keepalive-test on a chatty HTTP/2 connection — a PING
# every 10 ms against nghttpd in a lab namespace — for DURATION, sampling the process's
# resident memory. Prints RSS at 10 s and at the end, and the events seen.
# The timeline is bounded (events past its limit are summarised), so RSS must stay flat.
# Usage: sudo BIN=.build/release/conndiag bash bench/soak.sh [DURATION]   (default 120s; README: 1h)
set -euo pipefail
BIN=${BIN:-.build/release/conndiag}
DURATION=${1:-${DURATION:-120s}}
OUT=$(mktemp /tmp/cdsoak.XXXXXX)
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -f "$OUT"' EXIT INT TERM

[ -x "$BIN" ] || { echo "soak: $BIN is not built" >&2; exit 3; }
echo "== soak: keepalive-test --lab --traffic h2 --ping-time 10ms for $DURATION ($BIN)"
"$BIN" keepalive-test --lab --traffic h2 --ping-time 10ms --permit-without-stream --for "$DURATION" --format json > "$OUT" &
PID=$!
rss() { awk '/^VmRSS/ {print $2}' /proc/$PID/status 2>/dev/null || echo 0; }
START_S=$(date +%s)
sleep 10
START=$(rss); PEAK=$START; LAST=$START
SAMPLES="10s:$START"
NEXT_MARK=60
while kill -0 $PID 2>/dev/null; do
    r=$(rss); [ "${r:-0}" -gt 0 ] && LAST=$r
    [ "${r:-0}" -gt "$PEAK" ] && PEAK=$r
    # One sample per minute for the first ten, then every ten minutes: the curve, not two points.
    el=$(( $(date +%s) - START_S ))
    if [ "$el" -ge "$NEXT_MARK" ] && [ "${r:-0}" -gt 0 ]; then
        SAMPLES="$SAMPLES $((el / 60))min:$r"
        if [ "$NEXT_MARK" -lt 600 ]; then NEXT_MARK=$((NEXT_MARK + 60)); else NEXT_MARK=$((NEXT_MARK + 600)); fi
    fi
    sleep 5
done
wait $PID || true
python3 - "$OUT" "$START" "$LAST" "$PEAK" "$SAMPLES" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
kept = len(d["events"]); el = d.get("events_elided", {}).get("count", 0)
pings = sum(1 for e in d["events"] if e["kind"] == "ping") + d.get("events_elided", {}).get("by_kind", {}).get("ping", 0)
start, last, peak = (int(x) / 1024 for x in sys.argv[2:5])
curve = " ".join(f"{k}={int(v) / 1024:.1f}" for k, v in (p.split(":") for p in sys.argv[5].split()))
print(f"events: {kept + el} ({kept} kept, {el} elided), PINGs sent: {pings}")
print(f"RSS: {start:.1f} MB at 10 s, {last:.1f} MB at the end, peak {peak:.1f} MB; outcome: {d['outcome']['status']}")
print(f"RSS over the run (MB): {curve}")
PY
