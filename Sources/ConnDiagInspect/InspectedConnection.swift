import ConnDiagCore

/// One connection as `inspect` reports it: the kernel's view, its owner, the options the
/// application set and what would happen if the peer vanished at the sample.
public struct InspectedConnection: Sendable {
    public var index: Int
    public var socket: SockDiagSocket
    public var owner: SocketOwner?
    public var options: OptionsReading
    public var prediction: DeathPrediction
    /// Run-clock seconds of the sample the prediction is anchored on.
    public var sampledAt: Double

    public init(index: Int, socket: SockDiagSocket, owner: SocketOwner?, options: OptionsReading, prediction: DeathPrediction, sampledAt: Double) {
        self.index = index; self.socket = socket; self.owner = owner; self.options = options
        self.prediction = prediction; self.sampledAt = sampledAt
    }

    /// The run-clock moment the prediction names, nil when it names none.
    public var predictedDeathAt: Double? { prediction.seconds.map { sampledAt + $0 } }

    public var json: JSONValue {
        let s = socket
        var b = JSONObjectBuilder()
        b.add("connection", index)
        b.add("local", s.local)
        b.add("remote", s.remote)
        b.add("state", s.state.description)
        b.add("inode", Int(s.inode))
        b.add("uid", Int(s.uid))
        if let o = owner {
            b.add("owner", .object([("pid", .int(Int64(o.pid))), ("fd", .int(Int64(o.fd))), ("command", .string(o.command))]))
        }
        b.add("timer", .object([("kind", .string(s.timer.description)), ("expires_ms", .int(Int64(s.expiresMs))),
                                ("retransmits", .int(Int64(s.timerRetransmits)))]))
        b.add("recv_q", Int(s.receiveQueue))
        b.add("send_q", Int(s.sendQueue))
        switch options {
        case .read(let o):
            b.add("options", .object([
                ("keepalive", .bool(o.keepalive)), ("keepidle_s", .int(Int64(o.keepIdle))),
                ("keepintvl_s", .int(Int64(o.keepInterval))), ("keepcnt", .int(Int64(o.keepCount))),
                ("user_timeout_ms", .int(Int64(o.userTimeoutMs))), ("syncnt", .int(Int64(o.synCount))),
                ("nodelay", .bool(o.noDelay)), ("sndbuf", .int(Int64(o.sendBuffer))), ("rcvbuf", .int(Int64(o.receiveBuffer))),
                ("congestion", .string(o.congestion)),
            ]))
        case .unknown(let why):
            b.add("options", .null)
            b.add("options_unknown", why)
            if InferredOptions.keepaliveOn(s) {
                b.add("inferred_options", .object([("keepalive", .bool(true)), ("source", .string(InferredOptions.keepaliveSource))]))
            }
        }
        if let i = s.info {
            var t = JSONObjectBuilder()
            t.add("rtt_us", Int(i.rttMicros)); t.add("rttvar_us", Int(i.rttVarMicros)); t.add("rto_us", Int(i.rtoMicros))
            t.add("backoff", Int(i.backoff)); t.add("retransmits", Int(i.retransmits)); t.add("probes", Int(i.probes))
            t.add("unacked", Int(i.unacked)); t.add("lost", Int(i.lost)); t.add("total_retrans", Int(i.totalRetransmits))
            t.add("last_data_sent_ms", Int(i.lastDataSentMs)); t.add("last_data_recv_ms", Int(i.lastDataReceivedMs))
            t.add("last_ack_recv_ms", Int(i.lastAckReceivedMs)); t.add("snd_cwnd", Int(i.sendCongestionWindow))
            t.add("congestion", s.congestion)
            b.add("tcp_info", t.value)
        }
        var p = JSONObjectBuilder()
        switch prediction.kind {
        case .after(let sec): p.add("kind", "dead-after"); p.add("seconds", round6(sec))
        case .neverWhileIdle(let w): p.add("kind", "never-while-idle"); p.add("after_next_write_s", round6(w))
        case .none: p.add("kind", "none")
        }
        p.add("mechanism", prediction.mechanism.rawValue)
        p.add("explanation", prediction.explanation)
        b.add("if_peer_vanished_now", p.value)
        return b.value
    }
}
