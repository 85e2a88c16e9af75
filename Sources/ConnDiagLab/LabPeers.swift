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
