import ConnDiagCore
import ConnDiagPacket

/// One line of the input accounting: how many packets for one reason.
public struct InputCount: Sendable, Equatable {
    public var reason: String
    public var packets: Int
    public init(reason: String, packets: Int) { self.reason = reason; self.packets = packets }
    func json(key: String) -> JSONValue {
        var o = JSONObjectBuilder()
        o.add(key, reason)
        o.add("packets", packets)
        return o.value
    }
}

/// Counts every packet `analyze` takes no TCP from, by reason: those that could not be
/// decoded (the decoder's problem; an unsupported link type by name and number) and those
/// decoded without TCP (by IP protocol, or by Ethernet type when there is no IP). Counting
/// by protocol is an array index; the strings are made once per reason, in `notDecoded`
/// and `notTCP`.
struct InputCounts {
    private var byProtocol = [Int](repeating: 0, count: 256)
    private var byEtherType: [Int32: Int] = [:]
    private var byProblem: [String: Int] = [:]

    mutating func countProtocol(_ number: UInt8) { byProtocol[Int(number)] &+= 1 }

    mutating func countNotIP(_ type: EtherType?) { byEtherType[type.map { Int32($0.rawValue) } ?? -1, default: 0] += 1 }

    mutating func countNotDecoded(_ problem: DecodeProblem, link: LinkType) {
        byProblem[InputCounts.reason(problem, link: link), default: 0] += 1
    }

    /// The problem's words, with the link type named when it is the unsupported one.
    static func reason(_ problem: DecodeProblem, link: LinkType) -> String {
        if case .invalid(let layer, _) = problem, layer == "link", !link.isSupported {
            return "unsupported link type \(link.linktypeName)"
        }
        return problem.description
    }

    var notDecoded: [InputCount] {
        InputCounts.ranked(byProblem.map { InputCount(reason: $0.key, packets: $0.value) })
    }

    var notTCP: [InputCount] {
        var out: [InputCount] = []
        for (number, n) in byProtocol.enumerated() where n > 0 {
            out.append(InputCount(reason: InputCounts.protocolName(UInt8(number)), packets: n))
        }
        for (type, n) in byEtherType {
            out.append(InputCount(reason: type < 0 ? "no network layer" : "not IP: \(EtherType(rawValue: UInt16(type)))", packets: n))
        }
        return InputCounts.ranked(out)
    }

    private static func ranked(_ counts: [InputCount]) -> [InputCount] {
        counts.sorted { $0.packets != $1.packets ? $0.packets > $1.packets : $0.reason < $1.reason }
    }

    static func protocolName(_ number: UInt8) -> String {
        switch number {
        case 1: return "ICMP"
        case 2: return "IGMP"
        case 4: return "IPv4-in-IP"
        case 6: return "TCP"
        case 17: return "UDP"
        case 41: return "IPv6-in-IP"
        case 47: return "GRE"
        case 50: return "ESP"
        case 51: return "AH"
        case 58: return "ICMPv6"
        case 59: return "IPv6 no next header"
        case 89: return "OSPF"
        case 103: return "PIM"
        case 112: return "VRRP"
        case 132: return "SCTP"
        default: return "IP protocol \(number)"
        }
    }
}
