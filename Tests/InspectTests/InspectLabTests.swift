import Foundation
import Glibc
import Testing
@testable import ConnDiagInspect
import ConnDiagCore

/// `inspect` on real Python processes in a namespace the test creates: the options read back
/// are exactly those set, the predictions are the kernel model's for them, the namespace is
/// the process's. Needs root; skips without it unless CI=true.
@Suite(.serialized) struct InspectLabTests {
    @Test(.enabled(if: InspectGate.enabled)) func readsBackOptionsInAnotherNamespace() throws {
        let lab = try InspectLab()
        defer { lab.destroy() }
        _ = try lab.start(Peers.listener, ["127.0.0.1", "5000"])
        let idle = try lab.start(Peers.client, ["127.0.0.1", "5000", "idle", "1", "1", "1", "2", "0", "0"])
        let bare = try lab.start(Peers.client, ["127.0.0.1", "5000", "idle", "0", "0", "0", "0", "0", "1"])
        let writer = try lab.start(Peers.client, ["127.0.0.1", "5000", "write", "1", "7", "3", "4", "3000", "0"])
        _ = try lab.start(Peers.listener, ["::1", "5010"])
        let six = try lab.start(Peers.client, ["::1", "5010", "idle", "1", "9", "4", "5", "12000", "1"])
        usleep(300_000)
        let kernel = KernelSettings.read()

        let a = try InspectEngine(config: InspectConfig(scope: .process(idle.pid))).run()
        #expect(!a.ownNamespace)
        #expect(a.namespace.hasPrefix("net:["))
        let c = try #require(a.connections.first { $0.socket.state == .established })
        #expect(a.connections.count == 1)
        #expect(c.socket.remote == "127.0.0.1:5000")
        #expect(c.owner?.pid == idle.pid)
        let o = try #require(c.options.options)
        #expect(o.keepalive && o.keepIdle == 1 && o.keepInterval == 1 && o.keepCount == 2 && o.userTimeoutMs == 0 && !o.noDelay)
        #expect(o.congestion == c.socket.congestion)
        // The kernel model for KEEPIDLE 1 s, KEEPINTVL 1 s, KEEPCNT 2, anchored on the armed timer.
        #expect(c.prediction.mechanism == .keepalive)
        let schedule = KeepaliveSchedule(idle: 1, interval: 1, count: 2, hz: kernel.hz)
        let p = Int(c.socket.info?.probes ?? 0)
        let expected = Double(c.socket.expiresMs) / 1000 + schedule.abortAt - schedule.probes[p]
        #expect(abs((c.prediction.seconds ?? -1) - expected) < 1e-9)

        let b = try InspectEngine(config: InspectConfig(scope: .process(bare.pid))).run()
        let bc = try #require(b.connections.first)
        let bo = try #require(bc.options.options)
        #expect(!bo.keepalive && bo.noDelay && bo.userTimeoutMs == 0)
        // No keepalive: nothing notices while idle; after a write, tcp_retries2 decides.
        let rto = try #require(bc.socket.info).rto
        let budget = RetransmissionSchedule(firstRTO: max(0.2, rto), retries2: kernel.tcpRetries2, rtoMax: kernel.rtoMax, hz: kernel.hz).giveUpAt
        #expect(bc.prediction.kind == .neverWhileIdle(afterNextWrite: max(0.2, rto) + budget))
        #expect(bc.prediction.mechanism == .retransmissionLimit)

        let w = try InspectEngine(config: InspectConfig(scope: .process(writer.pid))).run()
        let wo = try #require(w.connections.first?.options.options)
        #expect(wo.keepalive && wo.keepIdle == 7 && wo.keepInterval == 3 && wo.keepCount == 4 && wo.userTimeoutMs == 3000)
        // Writing or idle between writes, TCP_USER_TIMEOUT 3 s decides either way.
        #expect(w.connections.first?.prediction.mechanism == .userTimeout)

        // IPv6: the same reading through the AF_INET6 dump.
        let v6 = try InspectEngine(config: InspectConfig(scope: .process(six.pid))).run()
        let sc = try #require(v6.connections.first)
        #expect(sc.socket.family == 10 && sc.socket.remote == "[::1]:5010")
        let so = try #require(sc.options.options)
        #expect(so.keepalive && so.keepIdle == 9 && so.keepInterval == 4 && so.keepCount == 5 && so.userTimeoutMs == 12000 && so.noDelay)
    }

    @Test(.enabled(if: InspectGate.enabled)) func commandLineJSONAndExpectations() throws {
        let lab = try InspectLab()
        defer { lab.destroy() }
        _ = try lab.start(Peers.listener, ["127.0.0.1", "5001"])
        let idle = try lab.start(Peers.client, ["127.0.0.1", "5001", "idle", "1", "2", "1", "3", "0", "0"])
        let ok = try ConnDiagBinary.run(ConnDiagBinary.path, ["inspect", "--pid", "\(idle.pid)", "--json",
                                                             "--expect", "keepalive=on", "dead-within=10s", "mechanism=keepalive"])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        let doc = try ConnDiagBinary.json(ok.stdout)
        #expect(doc["command"] as? String == "inspect")
        let conns = try #require(doc["connections"] as? [[String: Any]])
        let options = try #require(conns.first?["options"] as? [String: Any])
        #expect(options["keepidle_s"] as? Int == 2 && options["keepintvl_s"] as? Int == 1 && options["keepcnt"] as? Int == 3)
        let ns = try #require(doc["namespace"] as? [String: Any])
        #expect(ns["own"] as? Bool == false)

        let bad = try ConnDiagBinary.run(ConnDiagBinary.path, ["inspect", "--pid", "\(idle.pid)", "--json", "--expect", "keepalive=off"])
        #expect(bad.status == 1)
        let checks = try #require(try ConnDiagBinary.json(bad.stdout)["expectations"] as? [[String: Any]])
        #expect(checks.first?["held"] as? Bool == false)

        let missing = try ConnDiagBinary.run(ConnDiagBinary.path, ["inspect", "--pid", "999999999"])
        #expect(missing.status == 2 && missing.stderr.contains("no process"))
        let usage = try ConnDiagBinary.run(ConnDiagBinary.path, ["inspect", "--pid", "1", "--expect", "keepalive=maybe"])
        #expect(usage.status == 2)
    }

    /// Without CAP_SYS_PTRACE (setpriv drops every capability) the process's descriptors
    /// cannot be read: the options are "unknown (no ptrace rights)", the kernel's view and the
    /// rest are still reported, exit 0. Own namespace on loopback: setns would need
    /// CAP_SYS_ADMIN, which is dropped too.
    @Test(.enabled(if: InspectGate.enabled)) func noPtraceRightsLeavesOptionsUnknown() throws {
        let port = 47_000 + Int(getpid() % 1000)
        let listener = try PeerProcess("/usr/bin/env", ["python3", "-c", Peers.listener, "127.0.0.1", "\(port)"])
        defer { listener.stop() }
        try listener.waitFor("ready")
        let client = try PeerProcess("/usr/bin/env", ["python3", "-c", Peers.client, "127.0.0.1", "\(port)", "idle", "1", "5", "1", "2", "0", "0"])
        defer { client.stop() }
        try client.waitFor("ready")
        let r = try ConnDiagBinary.run("/usr/bin/setpriv", ["--inh-caps=-all", "--bounding-set=-all", ConnDiagBinary.path,
                                                            "inspect", "--pid", "\(client.pid)", "--json", "--port", "\(port)"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let doc = try ConnDiagBinary.json(r.stdout)
        #expect((doc["ownership_note"] as? String)?.contains("no ptrace rights") == true)
        let conns = try #require(doc["connections"] as? [[String: Any]])
        let mine = try #require(conns.first { ($0["local"] as? String)?.hasSuffix(":\(port)") == false && $0["state"] as? String == "ESTABLISHED" })
        #expect(mine["options_unknown"] as? String == "unknown (no ptrace rights)")
        #expect((mine["timer"] as? [String: Any])?["kind"] as? String == "keepalive")
        #expect(mine["tcp_info"] != nil)
        // The armed keepalive timer proves SO_KEEPALIVE; KEEPIDLE and the rest stay unknown.
        let inferred = try #require(mine["inferred_options"] as? [String: Any])
        #expect(inferred["keepalive"] as? Bool == true && inferred["source"] as? String == "inferred from the armed keepalive timer")
        let explanation = (mine["if_peer_vanished_now"] as? [String: Any])?["explanation"] as? String ?? ""
        #expect(explanation.contains("KEEPIDLE/KEEPINTVL/KEEPCNT unknown"), "\(explanation)")

        // --capture without CAP_NET_RAW: one note, the run goes on with the samples.
        let f = try ConnDiagBinary.run("/usr/bin/setpriv", ["--inh-caps=-all", "--bounding-set=-all", ConnDiagBinary.path,
                                                            "inspect", "--pid", "\(client.pid)", "--json", "--port", "\(port)",
                                                            "--follow", "--capture", "--for", "300ms"])
        #expect(f.status == 0, "\(f.stdout)\(f.stderr)")
        let follow = try #require(try ConnDiagBinary.json(f.stdout)["follow"] as? [String: Any])
        #expect(follow["capture"] as? Bool == false)
        #expect((follow["capture_note"] as? String)?.contains("no permission to capture") == true, "\(follow)")
        #expect((follow["samples"] as? Int ?? 0) >= 2)
        let table = try ConnDiagBinary.run("/usr/bin/setpriv", ["--inh-caps=-all", "--bounding-set=-all", ConnDiagBinary.path,
                                                                "inspect", "--pid", "\(client.pid)", "--format", "table", "--port", "\(port)"])
        #expect(table.stdout.contains("on (inferred)"), "\(table.stdout)")
    }

    /// 10,000 sockets in one process: every one is found, its options read, in bounded time.
    @Test(.enabled(if: InspectGate.enabled)) func tenThousandSockets() throws {
        let lab = try InspectLab()
        defer { lab.destroy() }
        let many = try lab.start(Peers.many, ["6000", "5000"])
        let started = Date()
        let r = try InspectEngine(config: InspectConfig(scope: .process(many.pid))).run()
        let elapsed = Date().timeIntervalSince(started)
        #expect(r.connections.count == 10_001)  // the listener and both ends of 5,000 connections
        #expect(r.connections.filter { $0.options.options?.keepalive == true }.count == 5_000)
        #expect(elapsed < 10, "took \(elapsed) s")
    }

    @Test(.enabled(if: InspectGate.enabled)) func processExitingDuringFollowEndsTheRun() throws {
        let lab = try InspectLab()
        defer { lab.destroy() }
        _ = try lab.start(Peers.listener, ["127.0.0.1", "5002"])
        let client = try lab.start(Peers.client, ["127.0.0.1", "5002", "idle", "0", "0", "0", "0", "0", "0"])
        var config = InspectConfig(scope: .process(client.pid))
        config.follow = true
        config.interval = 0.02
        config.duration = 10
        let pid = client.pid
        Thread.detachNewThread { usleep(500_000); kill(pid, SIGKILL) }
        let started = Date()
        let r = try InspectEngine(config: config).run()
        #expect(Date().timeIntervalSince(started) < 3)
        #expect(r.follow?.processExitedAt != nil)
        #expect(r.connections.count == 1)
    }
}

/// Cut the flows inside the namespace and `--follow` must report each death with the right
/// mechanism within max(100 ms, 2.5 %) of the prediction made when the trouble began.
@Suite(.serialized) struct InspectFollowTimingTests {
    @Test(.enabled(if: InspectGate.enabled)) func deathsMatchPredictions() throws {
        let lab = try InspectLab()
        defer { lab.destroy() }
        let listener = try lab.start(Peers.listener, ["127.0.0.1", "5003"])
        // Idle with keepalive 1 s / 1 s x 2; writing every 200 ms with TCP_USER_TIMEOUT 3 s;
        // idle without keepalive (survives: nothing notices while idle).
        let idle = try lab.start(Peers.client, ["127.0.0.1", "5003", "idle", "1", "1", "1", "2", "0", "0"])
        let writer = try lab.start(Peers.client, ["127.0.0.1", "5003", "write", "0", "0", "0", "0", "3000", "0"])
        let bare = try lab.start(Peers.client, ["127.0.0.1", "5003", "idle", "0", "0", "0", "0", "0", "0"])
        usleep(300_000)
        try lab.iptables(["-I", "INPUT", "-p", "tcp", "--dport", "5003", "-j", "DROP"])
        // A connect() into the drop with TCP_SYNCNT 1: SYN_SENT until the SYN schedule gives up.
        let syn = try lab.start(Peers.client, ["127.0.0.1", "5003", "syn", "0", "0", "0", "0", "0", "0", "1"])
        usleep(100_000)
        var config = InspectConfig(scope: .all(namespaceOf: listener.pid))
        config.remotePort = 5003
        config.follow = true
        config.interval = 0.01
        config.duration = 7
        let r = try InspectEngine(config: config).run()
        func connection(of pid: Int32) -> InspectedConnection? { r.connections.first { $0.owner?.pid == pid } }
        let deaths = try #require(r.follow?.deaths)
        let idleIndex = try #require(connection(of: idle.pid)).index
        let writerIndex = try #require(connection(of: writer.pid)).index
        let bareIndex = try #require(connection(of: bare.pid)).index
        #expect(!deaths.contains { $0.connection == bareIndex })

        let synConnection = try #require(connection(of: syn.pid))
        #expect(synConnection.socket.state == .synSent)
        #expect(synConnection.options.options?.synCount == 1)
        for (index, mechanism) in [(idleIndex, Mechanism.keepalive), (writerIndex, Mechanism.userTimeout),
                                   (synConnection.index, Mechanism.synRetriesExhausted)] {
            let d = try #require(deaths.first { $0.connection == index }, "connection #\(index) did not die")
            #expect(d.mechanism == mechanism)
            let e = try #require(d.episode, "no prediction before the death of #\(index)")
            #expect(e.mechanism == mechanism)
            let ahead = e.predictedAt - e.startedAt
            let tolerance = max(0.1, 0.025 * ahead)
            #expect(abs(d.diedAt - e.predictedAt) <= tolerance,
                    "#\(index) died at \(d.diedAt), predicted \(e.predictedAt) at \(e.startedAt) (tolerance \(tolerance))")
            #expect(ahead > 0.9, "the prediction was made \(ahead) s ahead")
            print("inspect timing: #\(index) \(d.mechanism.rawValue) died \(String(format: "%.3f", d.diedAt)) s, predicted \(String(format: "%.3f", e.predictedAt)) s at \(String(format: "%.3f", e.startedAt)) s, error \(String(format: "%+.1f", (d.diedAt - e.predictedAt) * 1000)) ms")
        }
    }
}
