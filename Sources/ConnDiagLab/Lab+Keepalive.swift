import Glibc
import ConnDiagTCP

/// How the lab peer closes for `--peer-close`.
public enum PeerCloseKind: String, CaseIterable, Sendable { case fin, rst }

extension Lab {
    /// Points a keepalive run at a real peer in this lab (a Python echo peer for idle/send,
    /// nghttpd for h2) and schedules the fault: a cut in both directions, or the peer
    /// closing with FIN or RST.
    public func prepareKeepalive(_ config: inout KeepaliveConfig, ipv6: Bool = false, cutAfter: Double? = nil,
                                 peerClose: PeerCloseKind? = nil, peerCloseAfter: Double = 1) throws {
        let port: UInt16 = config.traffic == .h2 ? 80 : 7
        let peer: LabPeer
        if config.traffic == .h2 {
            peer = try startPeer(LabPeers.nghttpd(port: port, directory: try makeContentDirectory()), readyPort: port)
        } else {
            peer = try startPeer(LabPeers.echoPeer(port: port), readyPort: port)
        }
        config.target = TargetSpec(host: serverAddress(ipv6: ipv6).description, port: port)
        config.namespace = clientNamespace
        if let cut = cutAfter {
            config.actions.append(ScheduledAction(after: cut, label: "cut: the lab drops the flow in both directions", silencesFlow: true) { [unowned self] in
                try self.cut(port: port)
            })
        }
        if let close = peerClose {
            if config.traffic == .h2 {
                // nghttpd has no graceful stop: SIGKILL closes its sockets at once (FIN).
                config.actions.append(ScheduledAction(after: peerCloseAfter, label: "the peer process is killed") { peer.send(signal: SIGKILL) })
            } else {
                config.actions.append(ScheduledAction(after: peerCloseAfter, label: "the peer closes with \(close.rawValue.uppercased())") {
                    peer.send(signal: close == .fin ? SIGUSR1 : SIGUSR2)
                })
            }
        }
    }
}
