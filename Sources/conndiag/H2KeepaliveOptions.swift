import ArgumentParser
import ConnDiagCore
import ConnDiagHTTP2Engine
import ConnDiagTCP

extension GRPCClientFamily: ExpressibleByArgument {}

/// HTTP/2 keepalive flags (gRPC proposal A8 names).
struct H2KeepaliveOptions: ParsableArguments {
    @Option(name: .long, help: "Send a PING this long after the last read (A8 keepalive time). Off when not given.")
    var pingTime: DurationArgument?

    @Option(name: .long, help: "Close the connection when a PING is not answered within this (A8 keepalive timeout; default 20s).")
    var pingTimeout: DurationArgument?

    @Flag(name: .long, help: "Send keepalive PINGs even with no open stream.")
    var permitWithoutStream = false

    @Option(name: .long, help: "Streams kept open (request bodies that never end).")
    var streams: Int?

    @Option(name: .long, help: "Request path for the streams.")
    var path: String?

    @Option(name: .long, help: "Use a gRPC call /pkg.Service/Method for the streams and requests.")
    var grpc: String?

    @Option(name: .long, help: "Start a new request this often (a busy connection).")
    var requestInterval: DurationArgument?

    @Option(name: .long, help: "Apply a gRPC client's keepalive defaults: go, java or core (TCP_USER_TIMEOUT = ping-timeout per A18; go and java raise ping-time to 10s).")
    var grpcClient: GRPCClientFamily?

    var isUsed: Bool {
        pingTime != nil || pingTimeout != nil || permitWithoutStream || streams != nil || path != nil || grpc != nil
            || requestInterval != nil || grpcClient != nil
    }

    func validate() throws {
        if let s = streams, s < 0 || s > 1000 { throw ValidationError("--streams must be between 0 and 1000") }
        if let g = grpc, !g.hasPrefix("/") || g.dropFirst().split(separator: "/").count != 2 {
            throw ValidationError("--grpc must look like /package.Service/Method")
        }
        if let r = requestInterval, r.seconds < 0.01 { throw ValidationError("--request-interval must be at least 10ms") }
    }

    func apply(to config: inout KeepaliveConfig, authority: String) throws {
        var p = H2KeepalivePolicy(authority: authority)
        p.pingTime = pingTime?.seconds
        p.pingTimeout = pingTimeout?.seconds ?? 20
        p.permitWithoutStream = permitWithoutStream
        p.streams = streams ?? 1
        p.path = path ?? "/"
        p.grpcMethod = grpc
        p.requestInterval = requestInterval?.seconds
        p.client = grpcClient
        if let c = grpcClient, c.setsUserTimeoutToPingTimeout, p.pingTime != nil, config.options.userTimeoutMs == nil {
            config.options.userTimeoutMs = Int((p.pingTimeout * 1000).rounded())
        }
        config.h2Driver = H2PingKeepalive(policy: p)
    }
}
