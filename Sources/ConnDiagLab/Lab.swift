import FoundationEssentials
import Synchronization
import Glibc
import ConnDiagCore
import ConnDiagPacket
import ConnDiagTCP
import ConnDiagPlatform

/// A two-host lab: a client namespace and a server namespace joined by a veth pair, with
/// addresses that exist only inside them (10.213.0.0/24 and fd00:cd::/64). conndiag's
/// sockets and captures run in the client namespace; peers and faults live in the server
/// namespace. Nothing is changed in the root namespace: not its firewall, routes or sysctls.
public final class Lab {
    /// Every namespace this lab makes starts with `prefix` so a later run can sweep leftovers.
    public let prefix: String
    public let name: String
    public let clientNamespace: String
    public let serverNamespace: String
    public let clientIPv4 = IPAddress("10.213.0.1")!
    public let serverIPv4 = IPAddress("10.213.0.2")!
    public let clientIPv6 = IPAddress("fd00:cd::1")!
    public let serverIPv6 = IPAddress("fd00:cd::2")!
    public static let clientInterface = "cdc0"
    public static let serverInterface = "cds0"

    private var listeners: [TCPListener] = []
    public private(set) var peers: [LabPeer] = []
    private var directories: [String] = []
    private var destroyed = false

    /// Names look like `PREFIX-<pid>-<n>-c`; the pid lets a sweep tell live labs from stale ones.
    public init(prefix: String = "cdlab") throws {
        self.prefix = prefix
        name = "\(prefix)-\(getpid())-\(Lab.counter.add(1, ordering: .relaxed).newValue)"
        clientNamespace = name + "-c"
        serverNamespace = name + "-s"
        try Lab.requireRights()
        Lab.sweepStale(prefix: prefix)
        do { try build() } catch { destroy(); throw error }
    }

    static let counter = Atomic<Int>(0)

    deinit { destroy() }

    /// Exit 3 with a clear message when namespaces cannot be made.
    /// Checks the effective capabilities, not the uid: root inside a container or under
    /// `setpriv --bounding-set=-all` has uid 0 and still cannot make namespaces.
    public static func requireRights() throws {
        let needed: [(bit: Int, name: String)] = [(12, "CAP_NET_ADMIN"), (21, "CAP_SYS_ADMIN")]
        let effective = effectiveCapabilities()
        let lacking = needed.filter { cap in effective.map { $0 & (UInt64(1) << UInt64(cap.bit)) == 0 } ?? (geteuid() != 0) }
        guard lacking.isEmpty else {
            throw ConnDiagError.environment("the lab needs \(lacking.map(\.name).joined(separator: " and ")) to create network namespaces; run with sudo")
        }
    }

    /// CapEff from /proc/self/status; nil when it cannot be read.
    static func effectiveCapabilities() -> UInt64? {
        guard let status = readSmallFile("/proc/self/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            return UInt64(line.dropFirst("CapEff:".count).trimmingWhitespace, radix: 16)
        }
        return nil
    }

    private func build() throws {
        let ip = "ip"
        try HostCommand.run([ip, "netns", "add", clientNamespace])
        try HostCommand.run([ip, "netns", "add", serverNamespace])
        try HostCommand.run([ip, "-n", clientNamespace, "link", "add", Lab.clientInterface, "type", "veth",
                             "peer", "name", Lab.serverInterface, "netns", serverNamespace])
        for (ns, dev, v4, v6) in [(clientNamespace, Lab.clientInterface, clientIPv4, clientIPv6),
                                  (serverNamespace, Lab.serverInterface, serverIPv4, serverIPv6)] {
            try HostCommand.run([ip, "-n", ns, "link", "set", "lo", "up"])
            try HostCommand.run([ip, "-n", ns, "addr", "add", "\(v4)/24", "dev", dev])
            try HostCommand.run([ip, "-n", ns, "-6", "addr", "add", "\(v6)/64", "dev", dev, "nodad"])
            try HostCommand.run([ip, "-n", ns, "link", "set", dev, "up"])
        }
        // Addresses are added with nodad, so they are usable as soon as both ends are up.
    }

    /// Injects `fault` for `port` on the server (both IPv4 and IPv6), and starts a listener
    /// for `.listening`.
    public func inject(_ fault: Fault, port: UInt16) throws {
        if fault == .listening {
            try NetworkNamespace.run(serverNamespace) {
                listeners.append(try TCPListener(address: SocketAddress(ip: .v4(0), port: port)))
                listeners.append(try TCPListener(address: SocketAddress(ip: .v6(0, 0), port: port), v6Only: true))
            }
        }
        for v6 in [false, true] {
            if let rule = fault.rule(port: port, ipv6: v6) {
                try HostCommand.run(["ip", "netns", "exec", serverNamespace, v6 ? "ip6tables" : "iptables", "-w", "-A", "INPUT"] + rule)
            }
        }
    }

    /// Drops the flow between client and server in both directions from now on (a cut cable,
    /// a dead node): iptables DROP in the server namespace for INPUT and OUTPUT.
    public func cut(port: UInt16) throws {
        for tool in ["iptables", "ip6tables"] {
            try HostCommand.run(["ip", "netns", "exec", serverNamespace, tool, "-w", "-I", "INPUT", "-p", "tcp", "--dport", String(port), "-j", "DROP"])
            try HostCommand.run(["ip", "netns", "exec", serverNamespace, tool, "-w", "-I", "OUTPUT", "-p", "tcp", "--sport", String(port), "-j", "DROP"])
        }
    }

    /// Makes the server side behave like a NAT or load balancer with an idle timeout: its
    /// connection tracking forgets a TCP flow idle for `seconds`, and packets of a forgotten
    /// flow are dropped as INVALID. The sysctls are the server namespace's own.
    public func idleTimeout(seconds: Int) throws {
        let ns = ["ip", "netns", "exec", serverNamespace]
        try HostCommand.run(ns + ["iptables", "-w", "-A", "INPUT", "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP"])
        try HostCommand.run(ns + ["sysctl", "-q", "-w", "net.netfilter.nf_conntrack_tcp_timeout_established=\(seconds)",
                                  "net.netfilter.nf_conntrack_tcp_loose=0"])
    }

    /// Starts a peer process inside the server namespace; it is killed when the lab goes away.
    @discardableResult
    public func startPeer(_ arguments: [String], readyPort: UInt16? = nil, environment: [String: String] = [:]) throws -> LabPeer {
        let peer = try LabPeer(namespace: serverNamespace, arguments: arguments, environment: environment)
        peers.append(peer)
        if let port = readyPort { try peer.waitUntilListening(port: port, lab: self) }
        return peer
    }

    /// Starts a peer process inside the client namespace (a second client beside conndiag,
    /// e.g. a grpcio client whose behaviour is the fault); killed when the lab goes away.
    @discardableResult
    public func startClientPeer(_ arguments: [String], environment: [String: String] = [:]) throws -> LabPeer {
        let peer = try LabPeer(namespace: clientNamespace, arguments: arguments, environment: environment)
        peers.append(peer)
        return peer
    }

    /// A directory of files for an HTTP peer (nghttpd -d), removed with the lab.
    public func makeContentDirectory(files: [String: Int] = ["index.html": 1024, "large.bin": 1 << 20]) throws -> String {
        let dir = "/tmp/\(name)-www"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        directories.append(dir)
        for (file, size) in files {
            _ = FileManager.default.createFile(atPath: dir + "/" + file, contents: Data(repeating: 0x61, count: size))
        }
        return dir
    }

    public func serverAddress(ipv6: Bool) -> IPAddress { ipv6 ? serverIPv6 : serverIPv4 }

    /// Removes everything: peers, listeners, both namespaces (which takes the veth pair and
    /// every iptables rule inside with them). Safe to call more than once.
    public func destroy() {
        guard !destroyed else { return }
        destroyed = true
        for p in peers { p.stop() }
        peers = []
        listeners.forEach { $0.close() }
        listeners = []
        for d in directories { try? FileManager.default.removeItem(atPath: d) }
        directories = []
        for ns in [clientNamespace, serverNamespace] { Lab.deleteNamespace(ns) }
    }

    static func deleteNamespace(_ ns: String) {
        _ = try? HostCommand.run(["ip", "netns", "del", ns], allowFailure: true)
    }

    /// Deletes namespaces of `prefix` left by runs whose process is gone (SIGKILL, crash).
    @discardableResult
    public static func sweepStale(prefix: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/var/run/netns")) ?? []
        var removed: [String] = []
        for ns in names where ns.hasPrefix(prefix + "-") {
            let parts = ns.dropFirst(prefix.count + 1).split(separator: "-")
            // Only labs whose owning process is gone; this process's own labs are its own to
            // remove (tests run several labs at once).
            // Names that do not carry a pid are not ours to judge: leave them alone.
            guard let pid = parts.first.flatMap({ Int32($0) }) else { continue }
            if pid == getpid() { continue }
            switch Syscall.result("kill(\(pid), 0)", { kill(pid, 0) }) {
            case .value: continue
            case .error(let e) where e.errno == .notPermitted: continue
            default: break
            }
            // Processes left in it (peers of a SIGKILLed run) die with it.
            let pids = (try? HostCommand.run(["ip", "netns", "pids", ns], allowFailure: true)) ?? ""
            for p in pids.split(separator: "\n").compactMap({ Int32($0) }) { kill(p, SIGKILL) }
            deleteNamespace(ns)
            removed.append(ns)
        }
        return removed
    }

    /// Destroys every lab of this process (signal paths call this before exiting).
    public static func destroyAllOfThisProcess(prefix: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/var/run/netns")) ?? []
        for ns in names where ns.hasPrefix("\(prefix)-\(getpid())-") { deleteNamespace(ns) }
    }
}
