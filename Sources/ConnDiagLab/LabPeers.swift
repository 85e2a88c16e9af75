/// The peers the lab runs inside its server namespace. Real programs, started with
/// `ip netns exec`: a Python TCP echo peer and nghttpd for HTTP/2.
public enum LabPeers {
    /// A TCP echo peer on every address of the namespace. SIGUSR1 closes every connection
    /// with FIN, SIGUSR2 resets every connection (SO_LINGER 0 -> RST): `--peer-close`.
    public static let echoScript = #"""
import os, selectors, signal, socket, struct, sys
port = int(sys.argv[1])
sel = selectors.DefaultSelector()
conns = set()
pending = []
def on_signal(signum, frame):
    pending.append(signum)
signal.signal(signal.SIGUSR1, on_signal)
signal.signal(signal.SIGUSR2, on_signal)
signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
listeners = []
for family, addr in ((socket.AF_INET6, "::"),):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind((addr, port)); s.listen(128); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, "listen")
while True:
    for key, _ in sel.select(timeout=0.05):
        if key.data == "listen":
            c, _ = key.fileobj.accept(); c.setblocking(False)
            conns.add(c); sel.register(c, selectors.EVENT_READ, "conn")
        else:
            c = key.fileobj
            try:
                data = c.recv(65536)
            except OSError:
                data = b""
            if data:
                try: c.sendall(data)
                except OSError: pass
            else:
                sel.unregister(c); conns.discard(c); c.close()
    while pending:
        signum = pending.pop()
        for c in list(conns):
            if signum == signal.SIGUSR2:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sel.unregister(c); conns.discard(c); c.close()
"""#

    public static func echoPeer(port: UInt16) -> [String] { ["python3", "-c", echoScript, String(port)] }

    /// nghttpd serving `directory` over h2c (prior knowledge) on `port`.
    public static func nghttpd(port: UInt16, directory: String) -> [String] {
        ["nghttpd", "--no-tls", "-d", directory, String(port)]
    }
}

extension LabPeers {
    /// A grpcio server (PyPI grpcio, generic handlers with raw bytes, no protoc) with:
    /// /conndiag.Lab/Watch (server streaming, never ends), /conndiag.Lab/Unary (echo),
    /// /conndiag.Lab/Bidi (echo each message), and grpc.health.v1.Health when
    /// grpcio-health-checking is installed (services from --serving/--not-serving).
    /// Server options come as NAME=VALUE arguments, e.g. grpc.max_connection_age_ms=2000.
    public static let grpcScript = #"""
import signal, sys, threading, time
from concurrent import futures
import grpc
port = int(sys.argv[1])
options, serving, not_serving = [], [], []
for a in sys.argv[2:]:
    if a.startswith("--serving="): serving += [s for s in a.split("=", 1)[1].split(",") if s]
    elif a.startswith("--not-serving="): not_serving += [s for s in a.split("=", 1)[1].split(",") if s]
    else:
        k, v = a.split("=", 1)
        options.append((k, int(v)))
def watch(request, context):
    n = 0
    while context.is_active():
        n += 1
        yield n.to_bytes(4, "big")
        time.sleep(0.2)
def unary(request, context):
    return request
def bidi(request_iterator, context):
    for m in request_iterator:
        yield m
ident = lambda b: b
handlers = {
    "Watch": grpc.unary_stream_rpc_method_handler(watch, request_deserializer=ident, response_serializer=ident),
    "Unary": grpc.unary_unary_rpc_method_handler(unary, request_deserializer=ident, response_serializer=ident),
    "Bidi": grpc.stream_stream_rpc_method_handler(bidi, request_deserializer=ident, response_serializer=ident),
}
server = grpc.server(futures.ThreadPoolExecutor(max_workers=32), options=options)
server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("conndiag.Lab", handlers),))
try:
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc
    h = health.HealthServicer()
    h.set("", health_pb2.HealthCheckResponse.SERVING)
    for s in serving: h.set(s, health_pb2.HealthCheckResponse.SERVING)
    for s in not_serving: h.set(s, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(h, server)
except ImportError:
    pass
server.add_insecure_port("[::]:%d" % port)
server.start()
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda s, f: stop.set())
signal.signal(signal.SIGINT, lambda s, f: stop.set())
while not stop.wait(0.2):
    pass
server.stop(0)
"""#

    public static func grpcServer(port: UInt16, options: [String: Int] = [:], serving: [String] = [], notServing: [String] = []) -> [String] {
        var args = ["python3", "-c", grpcScript, String(port)]
        args += options.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        if !serving.isEmpty { args.append("--serving=" + serving.joined(separator: ",")) }
        if !notServing.isEmpty { args.append("--not-serving=" + notServing.joined(separator: ",")) }
        return args
    }

    /// nghttpx as a request-level HTTP/2 proxy (h2c in front, h2c to the backend). SIGQUIT
    /// makes it drain gracefully: GOAWAY NO_ERROR, in-flight streams complete.
    public static func nghttpx(port: UInt16, backendPort: UInt16, backend: String = "127.0.0.1") -> [String] {
        ["nghttpx", "--frontend=*,\(port);no-tls", "--backend=\(backend),\(backendPort);;proto=h2",
         "--workers=1", "--log-level=ERROR", "--errorlog-file=/dev/null", "--accesslog-file=/dev/null",
         "--conf=/dev/null"]
    }
}

extension LabPeers {
    /// A load balancer's idle timeout in miniature: accepts connections and closes each one
    /// after `idle` seconds without data from the client, with FIN (or RST when `rst`).
    public static let idleCloserScript = #"""
import selectors, signal, socket, struct, sys, time
port, idle, mode = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
sel = selectors.DefaultSelector()
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", port)); s.listen(128); s.setblocking(False)
sel.register(s, selectors.EVENT_READ, None)
last = {}
while True:
    for key, _ in sel.select(timeout=0.02):
        if key.data is None:
            c, _ = s.accept(); c.setblocking(False)
            sel.register(c, selectors.EVENT_READ, "c"); last[c] = time.monotonic()
        else:
            c = key.fileobj
            try: d = c.recv(65536)
            except OSError: d = b""
            if d: last[c] = time.monotonic()
            else:
                sel.unregister(c); last.pop(c, None); c.close()
    now = time.monotonic()
    for c, t in list(last.items()):
        if now - t >= idle:
            if mode == "rst": c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sel.unregister(c); last.pop(c); c.close()
"""#

    public static func idleCloser(port: UInt16, idle: Double, rst: Bool = false) -> [String] {
        ["python3", "-c", idleCloserScript, String(port), String(idle), rst ? "rst" : "fin"]
    }
}

extension LabPeers {
    /// A hostile HTTP/2 server (raw socket, no library) for robustness tests. It reads the
    /// client preface, sends SETTINGS, then misbehaves as `mode` says.
    public static let hostileH2Script = #"""
import socket, struct, sys, time, signal
port, mode = int(sys.argv[1]), sys.argv[2]
signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
def frame(t, flags, sid, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + struct.pack(">I", sid) + payload
SETTINGS, PING, GOAWAY, WINDOW_UPDATE, HEADERS, CONTINUATION, DATA = 4, 6, 7, 8, 1, 9, 0
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", port)); s.listen(16)
while True:
    c, _ = s.accept()
    c.settimeout(0.5)
    try:
        if mode == "not-http2":
            c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"); c.close(); continue
        try: c.recv(65536)
        except socket.timeout: pass
        c.sendall(frame(SETTINGS, 0, 0, b""))
        if mode == "oversize-frame":
            c.sendall(frame(DATA, 0, 1, b"x" * 100000))
        elif mode == "bad-hpack":
            c.sendall(frame(HEADERS, 4, 1, b"\xff\xff\xff\xff\xff\x7f"))
        elif mode == "endless-continuation":
            c.sendall(frame(HEADERS, 0, 1, b"\x88"))
            for _ in range(100000): c.sendall(frame(CONTINUATION, 0, 1, b"\x00" * 1000))
        elif mode == "settings-flood":
            for _ in range(100000): c.sendall(frame(SETTINGS, 0, 0, b"\x00\x03\x00\x00\x00\x64"))
        elif mode == "ping-flood":
            for i in range(200000): c.sendall(frame(PING, 0, 0, struct.pack(">Q", i)))
        elif mode == "huge-headers":
            c.sendall(frame(HEADERS, 0, 1, b"\x40\x01a\x7f\x80\x80\x80\x32"))
            chunk = b"a" * 16384
            for _ in range(6400): c.sendall(frame(CONTINUATION, 0, 1, chunk))
        elif mode == "data-closed-stream":
            c.sendall(frame(DATA, 1, 99, b"hello"))
        elif mode == "huge-goaway":
            c.sendall(frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0) + b"d" * 16000))
        elif mode == "window-overflow":
            c.sendall(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0x7fffffff)))
            c.sendall(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0x7fffffff)))
        time.sleep(3)
    except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError):
        pass
    try: c.close()
    except OSError: pass
"""#

    public static let hostileModes = ["oversize-frame", "bad-hpack", "endless-continuation", "settings-flood", "ping-flood",
                                      "huge-headers", "data-closed-stream", "huge-goaway", "window-overflow", "not-http2"]

    public static func hostileH2(port: UInt16, mode: String) -> [String] { ["python3", "-c", hostileH2Script, String(port), mode] }
}
