import Glibc
import ConnDiagCore
import ConnDiagDiagnosis

extension KeepaliveEngine.Watch {
    /// Hands the typed evidence of the watch to the dead-peer diagnoser and keeps its
    /// predictions for the report.
    mutating func explain(_ c: LiveConnection, established: Double, ended: (at: Double, errno: Int32?, eof: Bool, h2: H2DriverEnd?)?,
                          stopAt: Double, firstRetransmitSampleAt: Double?) -> Outcome {
        let o = c.effective
        let evidence = DeadPeerEvidence(
            established: established, end: ended.map(Self.watchEnd), stopAt: stopAt, interrupted: interrupted,
            settings: DeadPeerSettings(keepalive: o.keepalive, keepIdle: o.keepIdle, keepIntvl: o.keepIntvl, keepCnt: o.keepCnt,
                                       userTimeoutMs: o.userTimeoutMs),
            wire: c.wire.items, tcpInfo: c.infoSamples.items, firstRetransmitSampleAt: firstRetransmitSampleAt,
            flowCut: config.actions.contains { $0.silencesFlow },
            h2: config.h2Driver.map { d in
                H2KeepaliveFacts(pingTime: d.pingPolicy?.time, pingTimeout: d.pingPolicy?.timeout, lastReadAt: d.lastReadAt, pingsSent: d.pingsSent)
            })
        let verdict = DeadPeerDiagnoser(kernel: kernel).diagnose(evidence)
        predictionsJSON = verdict.predictions
        return verdict.outcome
    }

    /// The end as the application saw it: EOF, an errno, or what the HTTP/2 layer reported.
    static func watchEnd(_ e: (at: Double, errno: Int32?, eof: Bool, h2: H2DriverEnd?)) -> WatchEnd {
        switch e.h2 {
        case .eof?: return WatchEnd(at: e.at, how: .eof)
        case .error(let errno)?: return WatchEnd(at: e.at, how: .socketError(errno))
        case .pingTimeout(let sentAt)?: return WatchEnd(at: e.at, how: .h2PingTimeout(sentAt: sentAt))
        case .protocolError(let why)?: return WatchEnd(at: e.at, how: .h2ProtocolError(why))
        case nil: return WatchEnd(at: e.at, how: e.eof ? .eof : .socketError(e.errno ?? EIO))
        }
    }
}
