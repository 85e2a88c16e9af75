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

    public func close() {
        captures.forEach { $0.close() }
        captures = []
    }

    public func flush() { captures.forEach { $0.flush() } }
}
