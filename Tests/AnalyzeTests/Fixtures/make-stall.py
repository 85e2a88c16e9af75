#!/usr/bin/env python3
"""Records flow-control-stall.pcap: a real grpcio bidirectional call in which both sides
send large messages and neither reads (the bidirectional-stream deadlock).

Run once as root; the .pcap it writes is committed next to this script:

    sudo python3 Tests/AnalyzeTests/Fixtures/make-stall.py Tests/AnalyzeTests/Fixtures/flow-control-stall.pcap

It makes a private network namespace (removed at the end), captures its loopback with
tcpdump, starts a grpcio server and client inside it and lets the call sit stalled for
STALL_SECONDS while the client's keepalive PINGs (1 s) keep being answered: the
connection is alive, flow control is what stops the data.

BDP probing is off and the stream lookahead is small so the windows stay at a few tens of
kilobytes and the capture stays small.
"""
import os
import subprocess
import sys
import time

PORT = 50077
STALL_SECONDS = 8
MESSAGE = 64 * 1024
METHOD = "/conndiag.Stall/Bidi"

CHANNEL_OPTIONS = [
    ("grpc.http2.bdp_probe", 0),
    ("grpc.http2.lookahead_bytes", 16384),
    ("grpc.keepalive_time_ms", 1000),
    ("grpc.keepalive_timeout_ms", 5000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
]
SERVER_OPTIONS = [
    ("grpc.http2.bdp_probe", 0),
    ("grpc.http2.lookahead_bytes", 16384),
    ("grpc.http2.min_ping_interval_without_data_ms", 100),
    ("grpc.http2.max_ping_strikes", 0),
]


def serve():
    import grpc
    from concurrent import futures

    def bidi(request_iterator, context):
        next(request_iterator)          # read one message, then never again
        while context.is_active():
            yield b"s" * MESSAGE        # and keep sending

    handler = grpc.method_handlers_generic_handler(
        "conndiag.Stall", {"Bidi": grpc.stream_stream_rpc_method_handler(bidi)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=SERVER_OPTIONS)
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{PORT}")
    server.start()
    server.wait_for_termination()


def client():
    import grpc
    channel = grpc.insecure_channel(f"127.0.0.1:{PORT}", options=CHANNEL_OPTIONS)
    grpc.channel_ready_future(channel).result(timeout=10)
    call = channel.stream_stream(METHOD)

    def requests():
        while True:
            yield b"c" * MESSAGE        # keep sending, never read a response

    responses = call(requests())
    time.sleep(STALL_SECONDS + 3)       # the responses are never read
    responses.cancel()
    time.sleep(0.3)
    channel.close()


def record(out):
    ns = f"cdstall-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    procs = []
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        tcpdump = subprocess.Popen(["ip", "netns", "exec", ns, "tcpdump", "-i", "lo", "-U", "-w", out,
                                    f"tcp port {PORT}"], stderr=subprocess.DEVNULL)
        procs.append(tcpdump)
        time.sleep(1)
        server = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, __file__, "--serve"])
        procs.append(server)
        time.sleep(1.5)
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, __file__, "--client"], check=True, timeout=60)
        time.sleep(0.5)
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(["ip", "netns", "del", ns])


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    elif sys.argv[1:] == ["--client"]:
        client()
    elif len(sys.argv) == 2:
        record(sys.argv[1])
    else:
        sys.exit("usage: make-stall.py OUT.pcap")
