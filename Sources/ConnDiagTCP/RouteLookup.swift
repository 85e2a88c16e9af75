import Glibc
import ConnDiagPacket

/// Which interface the kernel routes a destination through, without netlink: a UDP
/// connect() selects the source address (no packet is sent), and the interface that owns
/// that address is the one to capture on. Local destinations go through `lo`.
public enum RouteLookup {
    public static func interface(for destination: IPAddress) -> String? {
        let addresses = interfaceAddresses()
        if addresses.contains(where: { $0.ip == destination }) { return "lo" }
        let fd = socket(destination.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let target = SocketAddress(ip: destination, port: 9)
        let rc = target.withSockAddr { connect(fd, $0, $1) }
        guard rc == 0 else { return nil }
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) == 0 }
        }
        guard ok, let local = withUnsafePointer(to: &storage, { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress(storage: $0) }
        }) else { return nil }
        return addresses.first { $0.ip == local.ip }?.name
    }

    /// Names of every interface, addressed or not (if_nameindex).
    public static func interfaceNames() -> Set<String> {
        guard let list = if_nameindex() else { return [] }
        defer { if_freenameindex(list) }
        var out = Set<String>()
        var p = list
        while p.pointee.if_index != 0 {
            if let n = p.pointee.if_name { out.insert(String(cString: n)) }
            p += 1
        }
        return out
    }

    public static func interfaceAddresses() -> [(name: String, ip: IPAddress)] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var out: [(String, IPAddress)] = []
        var p = list
        while let ifa = p {
            if let sa = ifa.pointee.ifa_addr, let addr = SocketAddress(storage: sa) {
                out.append((String(cString: ifa.pointee.ifa_name), addr.ip))
            }
            p = ifa.pointee.ifa_next
        }
        return out
    }
}
