#!/usr/bin/env bash
# probe at scale: 1,000 targets inside a private lab namespace (a third healthy listeners,
# a third refused, a third blackholed), checked by `conndiag probe` and by curl — in a
# sequential shell loop and with xargs -P — on the same list. Prints wall time and peak RSS.
set -euo pipefail
BIN=${BIN:-.build/release/conndiag}
N=${N:-1000}
TIMEOUT=${TIMEOUT:-0.5}
ns=cdbench-$$
client=$ns-c; server=$ns-s
cleanup() {
  [ -n "${LPID:-}" ] && kill "$LPID" 2>/dev/null || true
  # Whatever still runs in the lab (an interrupted curl) goes with it.
  for n in "$client" "$server"; do ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true; done
  ip netns del "$client" 2>/dev/null || true
  ip netns del "$server" 2>/dev/null || true
  rm -f "$list" "$urls"
}
trap cleanup EXIT INT TERM
list=$(mktemp); urls=$(mktemp)
ip netns add "$client"; ip netns add "$server"
ip -n "$client" link add cdc0 type veth peer name cds0 netns "$server"
ip -n "$client" addr add 10.213.9.1/24 dev cdc0; ip -n "$server" addr add 10.213.9.2/24 dev cds0
for n in "$client" "$server"; do ip -n "$n" link set lo up; done
ip -n "$client" link set cdc0 up; ip -n "$server" link set cds0 up
third=$((N / 3))
ip netns exec "$server" iptables -w -A INPUT -p tcp --dport 40000:49999 -j DROP
# One Python process serving the healthy ports: it accepts and answers a minimal HTTP
# response, so curl's check finishes as quickly as conndiag's.
ip netns exec "$server" python3 -c '
import selectors, socket, sys, signal
n = int(sys.argv[1]); sel = selectors.DefaultSelector()
for p in range(20000, 20000 + n):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.213.9.2", p)); s.listen(1024); s.setblocking(False); sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    for key, _ in sel.select():
        try:
            c, _ = key.fileobj.accept()
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"); c.close()
        except OSError: pass
' "$third" > /tmp/$ns.ready & LPID=$!
for _ in $(seq 100); do grep -q ready /tmp/$ns.ready 2>/dev/null && break; sleep 0.1; done
rm -f /tmp/$ns.ready
for i in $(seq 0 $((N - 1))); do
  case $((i % 3)) in
    0) port=$((20000 + i / 3));;
    1) port=$((30000 + i));;          # nothing listens: RST
    2) port=$((40000 + i));;          # dropped
  esac
  echo "10.213.9.2:$port" >> "$list"; echo "http://10.213.9.2:$port/" >> "$urls"
done
measure() {  # label, command...
  local label=$1; shift
  local tf; tf=$(mktemp)
  /usr/bin/time -o "$tf" -f "%e %M" "$@" >/dev/null 2>&1 || true
  printf '%-44s %8s s  %8s KB peak RSS\n' "$label" $(tail -1 "$tf")
  rm -f "$tf"
}
echo "targets: $N ($third healthy, refused and blackholed each), connect timeout ${TIMEOUT}s"
measure "conndiag probe (concurrency 64)" ip netns exec "$client" "$BIN" probe --targets "$list" --connect-timeout ${TIMEOUT}s --format json
measure "conndiag probe (concurrency 500)" ip netns exec "$client" "$BIN" probe --targets "$list" --connect-timeout ${TIMEOUT}s --concurrency 500 --format json
loop=$(mktemp)
cat > "$loop" <<LOOP
while read -r u; do curl -s -o /dev/null --connect-timeout $TIMEOUT --max-time 2 "\$u"; done < "$urls"
LOOP
measure "curl, xargs -P 64" ip netns exec "$client" sh -c "xargs -P 64 -n 1 curl -s -o /dev/null --connect-timeout $TIMEOUT --max-time 2 < $urls"
measure "curl, sequential shell loop" ip netns exec "$client" sh "$loop"
rm -f "$loop"
