#!/usr/bin/env bash
# Benchmark of start-up and report latency (figures in the README), on loopback only.
#
# A small Python HTTP listener on 127.0.0.1 (a free port) and a closed port (bound, then
# released) are the targets. N paired repetitions, alternating, each a fresh process:
#   (a) conndiag probe 127.0.0.1:PORT --format json        vs  curl -s -o /dev/null http://127.0.0.1:PORT/
#   (b) conndiag syn-timeout 127.0.0.1:CLOSED --format json vs  curl -s http://127.0.0.1:CLOSED/  (refused)
#       and the same syn-timeout with --no-capture, to show what the packet socket costs
#       (opening and closing one makes the kernel wait RCU grace periods)
#   (c) report latency: conndiag syn-timeout 127.0.0.1:CLOSED --format ndjson, every line
#       timestamped as it arrives on the pipe. The kernel's verdict is the socket `error`
#       event's `t` (ECONNREFUSED, on the run clock); the `connect-start` line anchors that
#       clock to the reader's, so latency = (summary arrival - connect-start arrival)
#       - (t_error - t_connect_start): from the verdict to the report on the pipe.
# Medians of wall time (process start to exit, as a shell user sees it); goals (issue 13):
# probe <= 2x curl, syn-timeout <= 3x curl, report latency <= 10 ms.
#
# Needs root for capture (syn-timeout opens libpcap; without CAP_NET_RAW it runs without
# capture and measures less than the real work), python3 and curl.
# Usage: sudo BIN=.build/release/conndiag bash bench/startup-bench.sh [N]
set -euo pipefail

BIN=${BIN:-.build/release/conndiag}
N=${1:-${N:-20}}

for tool in python3 curl; do
    command -v "$tool" >/dev/null || { echo "startup-bench: $tool is missing" >&2; exit 3; }
done
[ -x "$BIN" ] || { echo "startup-bench: $BIN is not built (swift build -c release)" >&2; exit 3; }
[ "$(id -u)" = 0 ] || echo "startup-bench: not root: syn-timeout runs without capture" >&2

exec python3 - "$BIN" "$N" <<'PY'
import json, os, socket, statistics, subprocess, sys, threading, time

BIN, N = sys.argv[1], int(sys.argv[2])

# The listener answers one HTTP/1.1 request per connection, as curl expects.
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(128)
port = listener.getsockname()[1]

def serve(c):
    with c:
        try:
            c.settimeout(2)
            if c.recv(65536).startswith(b"GET"):
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        except OSError:
            pass

def accept_loop():
    while True:
        c, _ = listener.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()

threading.Thread(target=accept_loop, daemon=True).start()

# A port nothing listens on: bound for a free number, then released.
probe_sock = socket.socket()
probe_sock.bind(("127.0.0.1", 0))
closed = probe_sock.getsockname()[1]
probe_sock.close()

def wall(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start

def report_latency():
    """Seconds from the kernel's verdict to the summary line on the pipe, and the gap
    between the socket `error` line and the summary line."""
    p = subprocess.Popen([BIN, "syn-timeout", f"127.0.0.1:{closed}", "--format", "ndjson"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
    arrivals, line = [], b""
    while True:
        b = p.stdout.read(1)
        if not b:
            break
        line += b
        if b == b"\n":
            arrivals.append((time.perf_counter(), json.loads(line)))
            line = b""
    p.wait()
    start = next((a, d) for a, d in arrivals if d.get("kind") == "connect-start")
    error = next((a, d) for a, d in arrivals if d.get("kind") == "error" and d.get("source") == "socket")
    summary = next((a, d) for a, d in arrivals if d.get("type") == "summary")
    if error[1].get("errno") != "ECONNREFUSED":
        sys.exit(f"startup-bench: expected ECONNREFUSED, got {error[1].get('errno')}")
    verdict_to_report = (summary[0] - start[0]) - (error[1]["t"] - start[1]["t"])
    return verdict_to_report, summary[0] - error[0], summary[1].get("capture")

# Warm the page cache and the dynamic loader's files once, untimed.
wall([BIN, "probe", f"127.0.0.1:{port}", "--format", "json"])
wall(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{port}/"])

probe, curl_ok, syn, syn_nocap, curl_refused, latency, gap = [], [], [], [], [], [], []
capture = None
for i in range(N):
    probe.append(wall([BIN, "probe", f"127.0.0.1:{port}", "--format", "json"]))
    curl_ok.append(wall(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{port}/"]))
    syn.append(wall([BIN, "syn-timeout", f"127.0.0.1:{closed}", "--format", "json"]))
    syn_nocap.append(wall([BIN, "syn-timeout", f"127.0.0.1:{closed}", "--format", "json", "--no-capture"]))
    curl_refused.append(wall(["curl", "-s", f"http://127.0.0.1:{closed}/"]))
    l, g, capture = report_latency()
    latency.append(l)
    gap.append(g)

med = statistics.median
ms = lambda s: f"{s * 1000:8.1f} ms"
load = open("/proc/loadavg").read().split()[:3]
print(f"== start-up and report latency on loopback ({os.cpu_count()} cores; load average {' '.join(load)}; "
      f"{N} paired runs, medians; capture {'on' if capture else 'off'})")
print(f"conndiag probe 127.0.0.1:{port}          {ms(med(probe))}")
print(f"curl http://127.0.0.1:{port}/            {ms(med(curl_ok))}")
print(f"conndiag syn-timeout 127.0.0.1:{closed}  {ms(med(syn))}   (refused)")
print(f"  the same, --no-capture               {ms(med(syn_nocap))}")
print(f"curl http://127.0.0.1:{closed}/          {ms(med(curl_refused))}   (refused)")
print(f"report latency, verdict -> summary line  {ms(med(latency))}   (max {max(latency) * 1000:.1f} ms)")
print(f"socket error line -> summary line        {ms(med(gap))}")
r_probe, r_syn, lat = med(probe) / med(curl_ok), med(syn) / med(curl_refused), med(latency)
verdict = lambda ok: "met" if ok else "NOT met"
print("== goals")
print(f"   probe / curl:          {r_probe:4.1f}x   (goal <= 2x: {verdict(r_probe <= 2)})")
print(f"   syn-timeout / curl:    {r_syn:4.1f}x   (goal <= 3x: {verdict(r_syn <= 3)})")
print(f"   report latency:        {lat * 1000:4.1f} ms (goal <= 10 ms: {verdict(lat <= 0.010)})")
PY
