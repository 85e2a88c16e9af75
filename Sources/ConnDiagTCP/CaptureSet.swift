import Glibc
import ConnDiagCore
import ConnDiagPacket

/// The live captures one run needs: one per interface that routes to the target's
/// addresses, each with a BPF filter for the target's port plus ICMP errors.
public final class CaptureSet {
    public private(set) var captures: [PacketCapture] = []
    /// Why capture is off, when it is (no CAP_NET_RAW, a bad interface).
    public private(set) var note: String?

    public init() {}

    public var isActive: Bool { !captures.isEmpty }

    public static func filter(port: UInt16, addresses: [IPAddress]) -> String {
        let hosts = addresses.map { "host \($0)" }.joined(separator: " or ")
        return "(tcp and port \(port) and (\(hosts))) or (icmp and (icmp[0] == 3 or icmp[0] == 4 or icmp[0] == 11 or icmp[0] == 12))"
            + " or (icmp6 and (ip6[40] == 1 or ip6[40] == 2 or ip6[40] == 3 or ip6[40] == 4))"
    }

    /// Opens the captures. Without permission it leaves none open and records the note (the
    /// run goes on with socket-level events); a bad --interface or --write-pcap the user
    /// named is an error.
    public func open(addresses: [IPAddress], port: UInt16, interface: String?, writePcap: String?) throws {
        if let i = interface, !RouteLookup.interfaceNames().contains(i) && i != "any" {
            throw ConnDiagError.usage("--interface \(i): no such interface (have: \(RouteLookup.interfaceNames().sorted().joined(separator: ", ")))")
        }
        var byInterface: [String: [IPAddress]] = [:]
        for a in addresses {
            let name = interface ?? RouteLookup.interface(for: a) ?? "any"
            byInterface[name, default: []].append(a)
        }
        do {
            for (name, addrs) in byInterface.sorted(by: { $0.key < $1.key }) {
                let c = try PacketCapture.openLive(interface: name, filter: CaptureSet.filter(port: port, addresses: addrs))
                if let path = writePcap, captures.isEmpty { try c.startWriting(to: path) }
                captures.append(c)
            }
        } catch let e as ConnDiagError {
            close()
            throw e
        } catch {
            note = "\(error); socket-level events only"
            close()
        }
    }

    /// Stops the captures. A --write-pcap file is complete when this returns; the packet
    /// sockets close on a background thread, because closing one makes the kernel wait for
    /// RCU grace periods (two with a ring: 20-40 ms here) that the report need not wait for.
    public func close() {
        let closing = captures
        captures = []
        closing.forEach { $0.stopWriting() }
        CaptureCloser.close(closing)
    }

    public func flush() { captures.forEach { $0.flush() } }
}

/// Closes live captures on a detached thread. The process still waits for a close in
/// progress when it exits, but nothing before that does.
enum CaptureCloser {
    private final class Batch {
        let captures: [PacketCapture]
        init(_ captures: [PacketCapture]) { self.captures = captures }
    }

    static func close(_ captures: [PacketCapture]) {
        guard !captures.isEmpty else { return }
        let batch = Unmanaged.passRetained(Batch(captures)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let started = pthread_create(&thread, &attributes, { raw in
            Unmanaged<Batch>.fromOpaque(raw!).takeRetainedValue().captures.forEach { $0.close() }
            return nil
        }, batch)
        if started != 0 {
            // No thread to spare: close here and pay the wait.
            Unmanaged<Batch>.fromOpaque(batch).takeRetainedValue().captures.forEach { $0.close() }
        }
    }
}
