extension LabPeers {
    /// The bidirectional-stream deadlock with real grpcio on both ends: the server reads one
    /// message of the /conndiag.Stall/Bidi call and then only sends; the client sends 64 KiB
    /// messages and never reads the responses. Both send windows reach zero while keepalive
    /// PINGs (1 s) are still answered. BDP probing is off and the lookahead small, so the
    /// windows stay at the 64 KiB default and the stall comes within a second.
    static let grpcStallScript = #"""
import sys, time, signal, threading
import grpc
from concurrent import futures

MESSAGE = 64 * 1024
COMMON = [("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 16384)]
role, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda s, f: stop.set())
signal.signal(signal.SIGINT, lambda s, f: stop.set())

if role == "serve":
    def bidi(request_iterator, context):
        next(request_iterator)            # one message, then never read again
        while context.is_active() and not stop.is_set():
            yield b"s" * MESSAGE          # and keep sending
    handler = grpc.method_handlers_generic_handler(
        "conndiag.Stall", {"Bidi": grpc.stream_stream_rpc_method_handler(bidi)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=COMMON + [
        ("grpc.http2.min_ping_interval_without_data_ms", 100), ("grpc.http2.max_ping_strikes", 0)])
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port("%s:%d" % (host, port))
    server.start()
    while not stop.wait(0.2):
        pass
    server.stop(0)
else:
    channel = grpc.insecure_channel("%s:%d" % (host, port), options=COMMON + [
        ("grpc.keepalive_time_ms", 1000), ("grpc.keepalive_timeout_ms", 5000),
        ("grpc.keepalive_permit_without_calls", 1), ("grpc.http2.max_pings_without_data", 0)])
    call = channel.stream_stream("/conndiag.Stall/Bidi")
    def requests():
        while not stop.is_set():
            yield b"c" * MESSAGE
    responses = call(requests())          # the responses are never read
    while not stop.wait(0.2):
        pass
    responses.cancel()
    channel.close()
"""#

    /// The stalling grpcio server (`serve`) or client (`call`), bound to or dialling host:port.
    public static func grpcStall(role: String, host: String, port: UInt16) -> [String] {
        ["python3", "-c", grpcStallScript, role, host, String(port)]
    }
}
