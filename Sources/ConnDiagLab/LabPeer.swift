import Foundation
import Glibc
import ConnDiagCore
import ConnDiagTCP

/// A real peer process (nghttpd, a Python server, an echo peer) running inside a lab
/// namespace through `ip netns exec`, which also mounts /etc/netns/NAME/{hosts,resolv.conf}.
/// Stopped by PID, never by name.
public final class LabPeer {
    public let namespace: String
    public let arguments: [String]
    private let process = Process()
    private let stderrPipe = Pipe()
    public var pid: Int32 { process.processIdentifier }

    init(namespace: String, arguments: [String], environment: [String: String]) throws {
        self.namespace = namespace
        self.arguments = arguments
        process.executableURL = URL(fileURLWithPath: try HostCommand.locate("ip"))
        process.arguments = ["netns", "exec", namespace] + arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderrPipe
        do { try process.run() } catch {
            throw ConnDiagError.environment("cannot start peer \(arguments.first ?? ""): \(error.localizedDescription)")
        }
    }

    public var isRunning: Bool { process.isRunning }

    /// Sends `signal` (SIGTERM, SIGQUIT, SIGKILL...) to the peer.
    public func send(signal: Int32) { if process.isRunning { kill(pid, signal) } }

    /// SIGTERM, then SIGKILL if it has not exited after `grace` seconds.
    public func stop(grace: Double = 1.0) {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let until = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < until { usleep(10_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    /// Waits until a TCP connect from inside the peer's namespace to `port` succeeds.
    func waitUntilListening(port: UInt16, lab: Lab, timeout: Double = 15) throws {
        let until = Date().addingTimeInterval(timeout)
        while Date() < until {
            guard process.isRunning else {
                let err = String(decoding: stderrPipe.fileHandleForReading.availableData, as: UTF8.self)
                throw ConnDiagError.environment("peer \(arguments.first ?? "") exited: \(err.split(separator: "\n").last.map(String.init) ?? "no message")")
            }
            let ok = (try? NetworkNamespace.run(namespace) { () -> Bool in
                let s = try TCPSocket(family: AF_INET)
                defer { s.close() }
                if try s.startConnect(to: SocketAddress(ip: lab.serverIPv4, port: port)) { return true }
                var p = pollfd(fd: s.fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, 200)
                return p.revents & Int16(POLLOUT) != 0 && s.pendingError() == 0
            }) ?? false
            if ok { return }
            usleep(50_000)
        }
        throw ConnDiagError.environment("peer \(arguments.first ?? "") did not listen on port \(port) within \(Int(timeout)) s")
    }
}
