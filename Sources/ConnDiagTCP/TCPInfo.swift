import CNetShims
import ConnDiagCore

/// A TCP_INFO sample: the kernel's own view of retransmissions, probes and timers.
public struct TCPInfo: Equatable, Sendable {
    public var state: UInt8
    public var retransmits: UInt8
    public var probes: UInt8
    public var backoff: UInt8
    public var rtoMs: Double
    public var unacked: UInt32
    public var lastDataSentMs: UInt32
    public var lastDataRecvMs: UInt32
    public var lastAckRecvMs: UInt32
    public var rttMs: Double
    public var totalRetrans: UInt32
    public var bytesRetrans: UInt64
    public var sndWnd: UInt32
    public var notsentBytes: UInt32

    init(_ r: CNetShims_TCPInfo) {
        state = r.state; retransmits = r.retransmits; probes = r.probes; backoff = r.backoff
        rtoMs = Double(r.rto_us) / 1000; unacked = r.unacked
        lastDataSentMs = r.last_data_sent_ms; lastDataRecvMs = r.last_data_recv_ms
        lastAckRecvMs = r.last_ack_recv_ms; rttMs = Double(r.rtt_us) / 1000
        totalRetrans = r.total_retrans; bytesRetrans = r.bytes_retrans
        sndWnd = r.snd_wnd; notsentBytes = r.notsent_bytes
    }

    /// Kernel TCP state names (include/net/tcp_states.h).
    public static let stateNames = ["", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
                                    "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"]
    public var stateName: String { Int(state) < Self.stateNames.count ? Self.stateNames[Int(state)] : "state \(state)" }

    /// The counters that matter for failure detection; a sample is worth an event only
    /// when one of these changed.
    public func differsMeaningfully(from o: TCPInfo) -> Bool {
        state != o.state || retransmits != o.retransmits || probes != o.probes || backoff != o.backoff
            || unacked != o.unacked
    }

    public var fields: [(String, JSONValue)] {
        [("state", .string(stateName)), ("retransmits", .int(Int64(retransmits))), ("probes", .int(Int64(probes))),
         ("backoff", .int(Int64(backoff))), ("rto_ms", .double(rtoMs)), ("unacked", .int(Int64(unacked))),
         ("last_data_sent_ms", .int(Int64(lastDataSentMs))), ("last_data_recv_ms", .int(Int64(lastDataRecvMs))),
         ("rtt_ms", .double(rttMs)), ("total_retrans", .int(Int64(totalRetrans)))]
    }

    public var summary: String {
        "\(stateName) retransmits=\(retransmits) probes=\(probes) backoff=\(backoff) rto=\(DurationText.trimmed(rtoMs))ms unacked=\(unacked)"
    }
}
