import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagPacket
@testable import ConnDiagTCP

/// A live flow's tracker (client = our socket) with a sink that keeps what it reports, as
/// `LiveConnection` uses it: `observe` returns the last event a packet amounted to.
final class LiveFlow: TCPTrackerSink {
    let tracker: TCPConnectionTracker
    var events: [Event] = []
    var observations: [FlowObservation] = []

    init(local: SocketAddress, remote: SocketAddress) { tracker = LiveConnection.tracker(local: local, remote: remote) }

    @discardableResult
    func observe(_ p: DecodedPacket, at t: Double) -> Event? {
        let before = events.count
        tracker.observe(p, at: t, sink: self)
        return events.count > before ? events.last : nil
    }

    func wants(important: Bool) -> Bool { true }
    func record(_ e: Event) { events.append(e) }
    func observe(_ o: FlowObservation) { observations.append(o) }
}
