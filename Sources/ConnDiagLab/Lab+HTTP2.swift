import Glibc
import ConnDiagTCP

/// The HTTP/2 servers the lab can run for goaway-trace and probe.
public enum LabHTTP2Server: String, CaseIterable, Sendable {
    /// Python grpcio (C-core) with conndiag.Lab/{Watch,Unary,Bidi} and the health service.
    case grpc
    /// nghttpd, h2c: no graceful stop (a kill is a FIN or RST with streams open).
    case nghttpd
    /// nghttpx in front of nghttpd: drains gracefully on SIGQUIT.
    case nghttpx

    public var port: UInt16 {
        switch self {
        case .grpc: return 50051
        case .nghttpd: return 80
        case .nghttpx: return 3000
        }
    }
}

extension Lab {
    /// Starts `server` in the server namespace and returns its front-end peer (the one to
    /// kill or drain) and the port to connect to.
    @discardableResult
    public func startHTTP2Server(_ server: LabHTTP2Server, grpcOptions: [String: Int] = [:], serving: [String] = [],
                                 notServing: [String] = []) throws -> (peer: LabPeer, port: UInt16) {
        switch server {
        case .grpc:
            let p = try startPeer(LabPeers.grpcServer(port: server.port, options: grpcOptions, serving: serving, notServing: notServing),
                                  readyPort: server.port)
            return (p, server.port)
        case .nghttpd:
            return (try startPeer(LabPeers.nghttpd(port: server.port, directory: try makeContentDirectory()), readyPort: server.port), server.port)
        case .nghttpx:
            try startPeer(LabPeers.nghttpd(port: 8080, directory: try makeContentDirectory()), readyPort: 8080)
            let p = try startPeer(LabPeers.nghttpx(port: server.port, backendPort: 8080), readyPort: server.port)
            return (p, server.port)
        }
    }
}
