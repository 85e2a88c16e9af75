#!/usr/bin/env bash
# watch under load (issue 16): h2load against nghttpd on loopback in a private namespace,
# loopback at MTU 1500 with TSO/GSO/GRO off so packets are wire-sized, while `conndiag watch`
# captures there pinned to one core (h2load and nghttpd on the other). Reports packets/s and
# Gbit/s on the wire, kernel drops (pcap_stats), watch's CPU per Gbit/s, and its peak RSS.
# Usage: sudo BIN=.build/release/conndiag bash bench/watch-bench.sh [SECONDS] [RPS per client]
#   RPS empty: h2load at full speed. The host's namespaces and firewall are not touched.
set -euo pipefail
BIN=${BIN:-.build/release/conndiag}
SECS=${1:-10}
RPS=${2:-}
CLIENTS=${CLIENTS:-4}
SIZE=${SIZE:-65536}
NS=cdbench-$$
DIR=$(mktemp -d /tmp/cdbench.XXXXXX)
WPID=""; SPID=""
cleanup() {
    [ -n "$WPID" ] && kill "$WPID" 2>/dev/null || true
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null || true
    wait 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM
[ -x "$BIN" ] || { echo "watch-bench: $BIN is not built" >&2; exit 3; }
CPUS=$(nproc)
WATCH_CPU=$((CPUS - 1)); LOAD_CPUS=0-$((CPUS > 1 ? CPUS - 2 : 0))

ip netns add "$NS"
ip -n "$NS" link set lo mtu 1500 up
ip netns exec "$NS" ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true
head -c "$SIZE" /dev/urandom > "$DIR/f.bin"
ip netns exec "$NS" taskset -c "$LOAD_CPUS" nghttpd --no-tls -d "$DIR" 8080 >/dev/null 2>&1 &
SPID=$!
sleep 0.5

taskset -c "$WATCH_CPU" "$BIN" watch --netns "$NS" -i lo --format ndjson --status-interval 1s --for $((SECS + 3))s > "$DIR/watch.out" 2>"$DIR/watch.err" &
WPID=$!
sleep 1
ticks() { awk '{print $14 + $15}' /proc/$WPID/stat; }
HZ_TICKS=$(getconf CLK_TCK)
BYTES0=$(ip netns exec "$NS" cat /sys/class/net/lo/statistics/tx_bytes)
PKTS0=$(ip netns exec "$NS" cat /sys/class/net/lo/statistics/tx_packets)
CPU0=$(ticks)
T0=$(date +%s.%N)
ip netns exec "$NS" taskset -c "$LOAD_CPUS" h2load -c "$CLIENTS" -m 10 -D "$SECS" ${RPS:+--rps "$RPS"} "http://127.0.0.1:8080/f.bin" > "$DIR/h2load.out" 2>&1 || true
T1=$(date +%s.%N)
CPU1=$(ticks)
BYTES1=$(ip netns exec "$NS" cat /sys/class/net/lo/statistics/tx_bytes)
PKTS1=$(ip netns exec "$NS" cat /sys/class/net/lo/statistics/tx_packets)
HWM=$(awk '/^VmHWM/ {print $2}' /proc/$WPID/status)
wait "$WPID" || true
WPID=""
python3 - "$DIR/watch.out" "$T0" "$T1" "$BYTES0" "$BYTES1" "$PKTS0" "$PKTS1" "$CPU0" "$CPU1" "$HZ_TICKS" "$HWM" "$DIR/h2load.out" "${RPS:-full speed}" <<'PY'
import json, sys
out, t0, t1, b0, b1, p0, p1, c0, c1, hz, hwm, h2, rps = sys.argv[1:]
secs = float(t1) - float(t0)
recs = [json.loads(l) for l in open(out) if l.startswith("{")]
summary = next(r for r in recs if r["type"] == "summary")
bits = (int(b1) - int(b0)) * 8
pkts = int(p1) - int(p0)
cpu = (int(c1) - int(c0)) / int(hz)
gbps = bits / secs / 1e9
req = [l for l in open(h2) if l.startswith("requests:")]
print(f"load: h2load {rps} ({req[0].strip() if req else '?'})")
print(f"wire: {pkts / secs:,.0f} packets/s, {gbps:.3f} Gbit/s over {secs:.1f} s (loopback, MTU 1500, offloads off)")
print(f"watch: {summary['packets_handled']:,} packets handled, {summary['packets_dropped']:,} dropped by the kernel, "
      f"{summary['connections_reported']} connections reported")
print(f"watch CPU: {cpu:.2f} s in {secs:.1f} s = {100 * cpu / secs:.0f}% of one core; {cpu / secs / gbps if gbps else 0:.2f} core per Gbit/s")
print(f"watch peak RSS: {int(hwm) / 1024:.1f} MB")
PY
