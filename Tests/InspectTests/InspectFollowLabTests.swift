import Foundation
import Glibc
import Testing
@testable import ConnDiagInspect
import ConnDiagCore

/// Prints one measured-vs-predicted line (the README quotes them).
func reportTiming(_ label: String, _ d: ConnectionDeath, _ e: DeathEpisode) {
    print("inspect timing: \(label) \(d.mechanism.rawValue) died \(String(format: "%.3f", d.diedAt)) s, predicted \(String(format: "%.3f", e.predictedAt)) s at \(String(format: "%.3f", e.startedAt)) s, error \(String(format: "%+.1f", (d.diedAt - e.predictedAt) * 1000)) ms")
}

/// The death matches the prediction made when the trouble began, within max(100 ms, 2.5 %)
/// of how far ahead it was made.
func expectOnTime(_ d: ConnectionDeath, _ e: DeathEpisode, sourceLocation: SourceLocation = #_sourceLocation) {
    let ahead = e.predictedAt - e.startedAt
    let tolerance = max(0.1, 0.025 * ahead)
    #expect(abs(d.diedAt - e.predictedAt) <= tolerance,
            "#\(d.connection) died at \(d.diedAt), predicted \(e.predictedAt) at \(e.startedAt) (tolerance \(tolerance))", sourceLocation: sourceLocation)
}

/// A peer that stops reading (SO_RCVBUF 4 KiB, never recv) while the client writes: the
/// client's kernel probes the zero window, the peer answering. Then the peer vanishes
/// (its packets dropped inside the namespace) and the kernel gives up after tcp_retries2
/// unanswered probes (3 in this namespace, to keep the backoff short): `--follow --capture`
/// must see the death within max(100 ms, 2.5 %) of the prediction made at the first
/// unanswered probe, and the tracker's zero-window probes on the same timeline.
@Suite(.serialized) struct InspectZeroWindowTimingTests {
    @Test(.enabled(if: InspectGate.enabled)) func zeroWindowDeathMatchesThePrediction() throws {
        let lab = try InspectLab()
        defer { lab.destroy() }
        try lab.sysctl("net.ipv4.tcp_retries2=3")
        _ = try lab.start(Peers.listener, ["127.0.0.1", "5005", "4096"])
        let client = try lab.start(Peers.client, ["127.0.0.1", "5005", "flood", "0", "0", "0", "0", "0", "0"])
        var zeroWindow: InspectedConnection?
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && zeroWindow == nil {
            let r = try InspectEngine(config: InspectConfig(scope: .process(client.pid))).run()
            zeroWindow = r.connections.first { $0.socket.timer == .zeroWindowProbe }
            usleep(20_000)
        }
        let seen = try #require(zeroWindow, "the zero-window probe timer never armed")
        #expect(seen.prediction.mechanism == .retransmissionLimit)
        #expect(seen.prediction.explanation.contains("zero window"))

        try lab.iptables(["-I", "INPUT", "-p", "tcp", "--sport", "5005", "-j", "DROP"])
        var config = InspectConfig(scope: .process(client.pid))
        config.follow = true
        config.interval = 0.01
        config.duration = 9
        config.capture = true
        let timeline = Timeline()
        let r = try InspectEngine(config: config, timeline: timeline).run()
        #expect(r.follow?.captureNote == nil)
        let d = try #require(r.follow?.deaths.first, "the zero-window connection did not die")
        #expect(d.mechanism == .retransmissionLimit && d.evidence.contains("zero-window"))
        let e = try #require(d.episode, "no prediction before the death")
        #expect(e.mechanism == .retransmissionLimit)
        expectOnTime(d, e)
        reportTiming("zero-window", d, e)
        #expect(timeline.events.contains { $0.source == .wire && $0.kind == .zeroWindowProbe })
        #expect(timeline.events.contains { $0.source == .socket && $0.kind == .zeroWindowProbe })
    }
}

extension InspectZeroWindowTimingTests {
    /// With TCP_USER_TIMEOUT the kernel does what RFC 9293 §3.8.6.1 does not ask: it aborts a
    /// zero window UT after the first probe even though the peer (alive, not reading) answers
    /// every probe. No fault injected: the death must come by user-timeout within
    /// max(100 ms, 2.5 %) of the prediction made at the first zero-window sample.
    @Test(.enabled(if: InspectGate.enabled)) func userTimeoutEndsAZeroWindowThePeerAnswers() throws {
        let lab = try InspectLab()
        defer { lab.destroy() }
        _ = try lab.start(Peers.listener, ["127.0.0.1", "5008", "4096"])
        let client = try lab.start(Peers.client, ["127.0.0.1", "5008", "flood", "0", "0", "0", "0", "2000", "0"])
        var config = InspectConfig(scope: .process(client.pid))
        config.follow = true
        config.interval = 0.01
        config.duration = 5
        let r = try InspectEngine(config: config).run()
        let d = try #require(r.follow?.deaths.first, "the zero window outlived TCP_USER_TIMEOUT")
        #expect(d.mechanism == .userTimeout && d.evidence.contains("zero-window"))
        let e = try #require(d.episode)
        #expect(e.mechanism == .userTimeout)
        expectOnTime(d, e)
        reportTiming("zero-window UT 2 s", d, e)
    }
}

/// Connections opened after `--follow` started: found, their options read and predicted,
/// capped (the third is not followed, with a note), and they die like the others — the
/// keepalive abort dated by the kernel's RST on the wire.
@Suite(.serialized) struct InspectNewConnectionsTimingTests {
    @Test(.enabled(if: InspectGate.enabled)) func newConnectionsAreFollowedCappedAndDie() throws {
        let lab = try InspectLab()
        defer { lab.destroy() }
        _ = try lab.start(Peers.listener, ["127.0.0.1", "5006"])
        let opener = try lab.start(Peers.opener, ["127.0.0.1", "5006", "3", "0.5"])
        var config = InspectConfig(scope: .process(opener.pid))
        config.follow = true
        config.interval = 0.01
        config.duration = 5
        config.capture = true
        config.maxFollowed = 2
        let name = lab.name
        Thread.detachNewThread {
            usleep(1_000_000)
            _ = try? InspectLab.sh(["ip", "netns", "exec", name, "iptables", "-I", "INPUT", "-p", "tcp", "--dport", "5006", "-j", "DROP"])
        }
        let timeline = Timeline()
        let r = try InspectEngine(config: config, timeline: timeline).run()
        let follow = try #require(r.follow)
        #expect(follow.newConnections.count == 2)
        #expect(follow.notFollowed == 1 && follow.capNote?.contains("cap of 2") == true)
        #expect(r.connections.count == 2)
        for c in follow.newConnections {
            let o = try #require(c.options.options)
            #expect(o.keepalive && o.keepIdle == 1 && o.keepInterval == 1 && o.keepCount == 2)
        }
        #expect(timeline.events.filter { $0.kind == "connection-new" }.count == 2)
        #expect(timeline.events.filter { $0.kind == "follow-cap" }.count == 1)
        #expect(timeline.events.contains { $0.source == .wire && $0.kind == .keepaliveProbe })
        #expect(follow.deaths.count == 2)
        for d in follow.deaths {
            #expect(d.mechanism == .keepalive)
            #expect(d.wireAt != nil, "the keepalive abort's RST was not seen: \(d.evidence)")
            let e = try #require(d.episode)
            expectOnTime(d, e)
            reportTiming("new #\(d.connection)", d, e)
        }
    }
}

/// The followed process exits: each of its connections gets that as its outcome, with the
/// FIN the kernel sent (on the wire with --capture; from the socket's FIN_WAIT state without).
@Suite(.serialized) struct InspectProcessExitTests {
    @Test(.enabled(if: InspectGate.enabled), arguments: [true, false]) func exitClosesWithAFIN(capture: Bool) throws {
        let lab = try InspectLab()
        defer { lab.destroy() }
        _ = try lab.start(Peers.listener, ["127.0.0.1", "5007"])
        let client = try lab.start(Peers.client, ["127.0.0.1", "5007", "idle", "0", "0", "0", "0", "0", "0"])
        var config = InspectConfig(scope: .process(client.pid))
        config.follow = true
        config.interval = 0.02
        config.duration = 5
        config.capture = capture
        let pid = client.pid
        Thread.detachNewThread { usleep(500_000); kill(pid, SIGKILL) }
        let timeline = Timeline()
        let r = try InspectEngine(config: config, timeline: timeline).run()
        let exitedAt = try #require(r.follow?.processExitedAt)
        let d = try #require(r.follow?.deaths.first)
        let x = try #require(d.processExit)
        #expect(d.status == .closed && x.exitedAt == exitedAt)
        #expect(x.kernelSent == "FIN", "\(x.evidence)")
        #expect(x.evidence.contains(capture ? "(capture)" : "FIN_WAIT"))
        #expect(d.summaryText.hasPrefix("process exited at"))
        if capture { #expect(timeline.events.contains { $0.source == .wire && $0.kind == .fin }) }
    }
}
