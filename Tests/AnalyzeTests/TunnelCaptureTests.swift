import ConnDiagAnalyze
import ConnDiagCore
import Foundation
import Glibc
import Testing

/// Real tunnels between two namespaces made here (cdtest-tun-<pid>-<n>-a/b, joined by a veth
/// pair: the underlay). A real TCP exchange (python3 listener and client, one line each way,
/// then a close, or the server's reset) runs through the tunnel while tcpdump captures the
/// underlay veth and the tunnel's own interface in namespace a. Then:
///  - tshark, the independent oracle, reads the underlay capture down to the same inner TCP
///    segments as the inner capture (per direction: 4-tuple, flags, raw sequence number,
///    length, in order), and nothing on the underlay but ARP and those segments;
///  - `analyze` of the underlay finds the same connections (endpoints, TCP packet count,
///    outcome status and mechanism) as `analyze` of the inner capture, with nothing undecoded.
///
/// The kernel builds the tunnel where it has the device type (`ip link add`); otherwise
/// Fixtures/tunnel-endpoint.py does, in userspace over TUN/TAP and raw or UDP sockets,
/// writing each header as its RFC says (tshark checks that). A kind made neither way fails
/// with CI=true and is skipped (cancelled, not passed) otherwise; so is the whole suite
/// without root. Only the two namespaces are touched; every process started here runs under
/// `timeout` and is killed by pid on every path, the namespaces are deleted in a defer and
/// swept at the start when a killed run left them.
@Suite(.serialized) struct TunnelCaptureTests {
    struct Kind {
        var name: String
        /// `ip link add tun0` arguments (%L local, %R remote underlay address), when the
        /// kernel may have the type.
        var kernel: String?
        /// tunnel-endpoint.py's kind, the userspace fallback.
        var endpoint: String?
        var v6Inner = false
        /// tshark's decode-as for a port it does not dissect by default.
        var tsharkDecode = ""
    }

    static let kinds: [Kind] = [
        Kind(name: "vxlan", kernel: "type vxlan id 42 local %L remote %R dstport 4789", endpoint: "vxlan"),
        Kind(name: "vxlan8472", kernel: "type vxlan id 43 local %L remote %R dstport 8472", endpoint: "vxlan8472",
             tsharkDecode: "-d udp.port==8472,vxlan"),
        Kind(name: "geneve", kernel: "type geneve id 44 remote %R", endpoint: "geneve"),
        // Geneve with an option TLV (the kernel's device sends none without lwtunnel metadata).
        Kind(name: "geneve-option", kernel: nil, endpoint: "geneve"),
        Kind(name: "gretap", kernel: "type gretap local %L remote %R key 7", endpoint: "gretap"),
        Kind(name: "gre", kernel: "type gre local %L remote %R key 9 oseq", endpoint: "gre"),
        Kind(name: "erspan", kernel: "type erspan local %L remote %R seq key 10 erspan_ver 1 erspan 5", endpoint: "erspan"),
        Kind(name: "ipip", kernel: "type ipip local %L remote %R", endpoint: "ipip"),
        Kind(name: "sit", kernel: "type sit local %L remote %R", endpoint: "sit", v6Inner: true),
        Kind(name: "mpls-udp", kernel: nil, endpoint: "mplsudp"),
        Kind(name: "mpls-gre", kernel: nil, endpoint: "mplsgre"),
    ]

    /// Every kind with a close; a few (layer 3, layer 2, IPv6 inside, MPLS) with the server's reset too.
    static let cases: [String] = kinds.map { "\($0.name) close" } + ["gre reset", "geneve reset", "sit reset", "mpls-udp reset"]

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// A condition that keeps the test from running: a failure with CI=true, a skip otherwise.
    static func cannotRun(_ why: String) throws {
        if isCI { Issue.record(Comment(rawValue: why)); return }
        try Test.cancel(Comment(rawValue: why))
    }

    /// Runs `command` with bash from a clean signal state: the test process may hand its
    /// children SIGTERM and SIGALRM blocked (a thread's mask is inherited through exec), and
    /// then neither `kill` nor `timeout` could end them. python3 unblocks and resets them first.
    @discardableResult
    static func sh(_ command: String) -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", """
            import os, signal, sys
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM, signal.SIGPIPE):
                signal.signal(s, signal.SIG_DFL)
            os.execv('/bin/bash', ['bash', '-c', sys.argv[1]])
            """, command]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return (127, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Deletes the cdtest-tun-* namespaces of test processes that are gone.
    static func sweepStale() {
        for line in sh("ip netns list").out.split(separator: "\n") {
            let name = String(line.split(separator: " ")[0])
            guard name.hasPrefix("cdtest-tun-") else { continue }
            let parts = name.split(separator: "-")
            guard parts.count >= 3, let pid = Int32(parts[2]), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            sh("ip netns del \(name)")
        }
    }

    static var counter = 0

    @Test(arguments: cases)
    func innerConnectionThroughTunnel(_ testCase: String) throws {
        guard getuid() == 0 else { try Self.cannotRun("TunnelCaptureTests need root"); return }
        let words = testCase.split(separator: " ").map(String.init)
        let kind = try #require(Self.kinds.first { $0.name == words[0] })
        let reset = words[1] == "reset"
        Self.sweepStale()
        Self.counter += 1
        let tag = "\(getpid())-\(Self.counter)"
        let a = "cdtest-tun-\(tag)-a", b = "cdtest-tun-\(tag)-b"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cdtest-tun-\(tag)").path
        Self.sh("rm -rf \(dir); mkdir -p \(dir)")
        defer { Self.sh("ip netns del \(a) 2>/dev/null; ip netns del \(b) 2>/dev/null; rm -rf \(dir)") }

        let underlay = """
        set -e
        ip netns add \(a); ip netns add \(b)
        ip link add ua netns \(a) type veth peer name ub netns \(b)
        ip netns exec \(a) sysctl -qw net.ipv6.conf.ua.disable_ipv6=1; ip netns exec \(b) sysctl -qw net.ipv6.conf.ub.disable_ipv6=1
        ip -n \(a) addr add 192.0.2.1/24 dev ua; ip -n \(b) addr add 192.0.2.2/24 dev ub
        ip -n \(a) link set ua up; ip -n \(b) link set ub up; ip -n \(a) link set lo up; ip -n \(b) link set lo up
        """
        let made = Self.sh(underlay)
        try #require(made.status == 0, "underlay setup failed: \(made.out)")
        let (innerA, innerB) = kind.v6Inner ? ("fd42::1/64", "fd42::2/64") : ("10.42.0.1/24", "10.42.0.2/24")

        // The kernel's device when it has the type, else the userspace endpoint.
        var endpoints = ""
        var how = "kernel"
        if let link = kind.kernel, Self.kernelTunnel(link, v6: kind.v6Inner, a: a, b: b, innerA: innerA, innerB: innerB) {
            how = "kernel"
        } else if let endpointKind = kind.endpoint, FileManager.default.fileExists(atPath: "/dev/net/tun") {
            how = "userspace"
            let script = try #require(Bundle.module.url(forResource: "tunnel-endpoint", withExtension: "py", subdirectory: "Fixtures")).path
            endpoints = """
            timeout -s KILL 60 ip netns exec \(a) python3 \(script) \(endpointKind) 192.0.2.1 192.0.2.2 tun0 \(innerA) --lifetime 45 >\(dir)/ea.log 2>&1 & PIDS="$PIDS $!"
            timeout -s KILL 60 ip netns exec \(b) python3 \(script) \(endpointKind) 192.0.2.2 192.0.2.1 tun0 \(innerB) --lifetime 45 >\(dir)/eb.log 2>&1 & PIDS="$PIDS $!"
            waitfor \(dir)/ea.log ready; waitfor \(dir)/eb.log ready
            """
        } else {
            try Self.cannotRun("\(kind.name): the kernel has no such device type and no userspace endpoint can make it (/dev/net/tun)")
            return
        }

        let server = kind.v6Inner ? "fd42::2" : "10.42.0.2"
        let family = kind.v6Inner ? "AF_INET6" : "AF_INET"
        try """
        import socket, struct
        s = socket.socket(socket.\(family))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('\(server)', 8080)); s.listen(); s.settimeout(10)
        print('listening', flush=True)
        c, _ = s.accept(); c.settimeout(5)
        c.sendall(c.recv(100))
        if \(reset ? "True" : "False"):
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))  # close sends RST
        else:
            c.recv(100)  # the client's FIN first: FINs crossing would be seen in another order
                         # on each side of a userspace tunnel (so would the verdict's "who closed")
        c.close()
        """.write(toFile: "\(dir)/listener.py", atomically: true, encoding: .utf8)
        try """
        import socket, time
        c = socket.create_connection(('\(server)', 8080), timeout=5)
        c.sendall(b'hello\\n')
        try:
            c.recv(100)
        except ConnectionResetError:
            pass
        c.close(); time.sleep(0.3)
        """.write(toFile: "\(dir)/client.py", atomically: true, encoding: .utf8)

        // Every background process runs under `timeout -s KILL` in a process group of its own
        // (timeout's), and that group is killed when the script ends, whichever way; each wait
        // is bounded.
        let run = """
        PIDS=""
        cleanup() { for p in $PIDS; do kill -9 -- -$p 2>/dev/null; kill -9 $p 2>/dev/null; done; }
        trap cleanup EXIT
        waitfor() { i=0; while ! grep -q "$2" "$1" 2>/dev/null; do i=$((i+1)); if [ $i -ge 100 ]; then echo "no '$2' in $1 after 10 s:"; cat "$1"; exit 9; fi; sleep 0.1; done; }
        \(endpoints)
        timeout -s KILL 60 ip netns exec \(a) tcpdump -U -s 0 -i ua -w \(dir)/underlay.pcap >\(dir)/tu.log 2>&1 & U=$!; PIDS="$PIDS $U"
        timeout -s KILL 60 ip netns exec \(a) tcpdump -U -s 0 -i tun0 -w \(dir)/inner.pcap >\(dir)/ti.log 2>&1 & I=$!; PIDS="$PIDS $I"
        waitfor \(dir)/tu.log "listening on"; waitfor \(dir)/ti.log "listening on"
        timeout -s KILL 15 ip netns exec \(b) python3 \(dir)/listener.py >\(dir)/listener.log 2>&1 & L=$!; PIDS="$PIDS $L"
        waitfor \(dir)/listener.log listening
        timeout -s KILL 15 ip netns exec \(a) python3 \(dir)/client.py || { echo "client failed"; cat \(dir)/listener.log; exit 1; }
        wait $L || { echo "listener failed"; cat \(dir)/listener.log; exit 1; }
        # tcpdump -U writes each packet as it reads it, but a kill loses what it has not read
        # yet (a loaded machine delays it by seconds): wait until both files have kept their
        # size for half a second (up to 10 s), then stop it with SIGINT and wait for it.
        stable() { last=-1; same=0; i=0; while [ $i -lt 100 ]; do s=$(stat -c %s "$1" 2>/dev/null || echo 0); if [ "$s" = "$last" ] && [ "$s" -gt 24 ]; then same=$((same+1)); [ $same -ge 5 ] && return 0; else same=0; fi; last=$s; i=$((i+1)); sleep 0.1; done; }
        sleep 0.3; stable \(dir)/underlay.pcap; stable \(dir)/inner.pcap
        kill -INT $U $I 2>/dev/null; i=0; while kill -0 $U 2>/dev/null || kill -0 $I 2>/dev/null; do i=$((i+1)); [ $i -ge 50 ] && break; sleep 0.1; done
        exit 0
        """
        let ran = Self.sh(run)
        try #require(ran.status == 0, "TCP exchange through \(kind.name) (\(how)) failed: \(ran.out)")

        // (a) tshark: the same inner segments on the underlay as on the tunnel's interface.
        let wire = try Self.tsharkSegments("\(dir)/underlay.pcap", kind.tsharkDecode), plainWire = try Self.tsharkSegments("\(dir)/inner.pcap")
        try #require(!plainWire.isEmpty, "tshark finds no TCP in the inner capture")
        #expect(wire == plainWire, "\(kind.name) (\(how)): tshark reads other inner segments from the underlay")
        #expect(wire.keys.allSatisfy { $0.hasSuffix(":8080") || $0.contains(":8080 >") })
        let stray = Self.sh("tshark -r \(dir)/underlay.pcap \(kind.tsharkDecode) -Y '!arp && !tcp || _ws.malformed' 2>/dev/null")
        #expect(stray.status == 0 && stray.out.isEmpty, "\(kind.name) (\(how)): underlay frames tshark does not read as inner TCP: \(stray.out)")

        // (b) analyze: the same connections and verdicts, nothing undecoded.
        let tunnelled = try AnalyzeEngine(options: AnalyzeOptions(files: ["\(dir)/underlay.pcap"])).run()
        let plain = try AnalyzeEngine(options: AnalyzeOptions(files: ["\(dir)/inner.pcap"])).run()
        try #require(plain.connections.count == 1, "inner capture: \(plain.connections.count) connections")
        #expect(tunnelled.connections.count == plain.connections.count)
        #expect(tunnelled.tcpPackets == plain.tcpPackets)
        #expect(tunnelled.notDecoded.isEmpty, "\(kind.name) (\(how)): not decoded: \(tunnelled.notDecoded)")
        for (u, p) in zip(tunnelled.connections, plain.connections) {
            #expect(u.client.description == p.client.description && u.server.description == p.server.description)
            #expect(u.server.description.contains(server))
            #expect(u.outcome.status == p.outcome.status && u.outcome.mechanism == p.outcome.mechanism,
                    "\(kind.name) (\(how)): \(u.outcome.summary) vs \(p.outcome.summary)")
        }
        // The reset is seen as one (in both, by the check above).
        if reset { #expect(plain.connections[0].outcome.mechanism == .rst || plain.connections[0].outcome.mechanism == .peerRst) }
    }

    /// Makes tun0 in both namespaces with the kernel's own device; false when the kernel has
    /// no such device type (then nothing is left behind: the namespaces hold no tun0).
    static func kernelTunnel(_ link: String, v6: Bool, a: String, b: String, innerA: String, innerB: String) -> Bool {
        func args(_ local: String, _ remote: String) -> String {
            link.replacingOccurrences(of: "%L", with: local).replacingOccurrences(of: "%R", with: remote)
        }
        let first = sh("ip -n \(a) link add tun0 \(args("192.0.2.1", "192.0.2.2"))")
        guard first.status == 0 else { return false }  // "Unknown device type", or not supported
        let rest = sh("""
        set -e
        ip -n \(b) link add tun0 \(args("192.0.2.2", "192.0.2.1"))
        for n in \(a) \(b); do ip netns exec $n sysctl -qw net.ipv6.conf.tun0.disable_ipv6=\(v6 ? 0 : 1); done
        ip -n \(a) addr add \(innerA) dev tun0 \(v6 ? "nodad" : ""); ip -n \(b) addr add \(innerB) dev tun0 \(v6 ? "nodad" : "")
        ip -n \(a) link set tun0 up; ip -n \(b) link set tun0 up
        """)
        if rest.status != 0 { sh("ip -n \(a) link del tun0; ip -n \(b) link del tun0 2>/dev/null") }
        return rest.status == 0
    }

    /// TCP segments as tshark reads them, by direction ("src:port > dst:port", the innermost
    /// addresses), each "flags seq_raw len" in capture order.
    static func tsharkSegments(_ path: String, _ decodeAs: String = "") throws -> [String: [String]] {
        let r = sh("tshark -r \(path) \(decodeAs) -Y 'tcp && !icmp && !icmpv6' -T fields -E occurrence=l -E separator=/t "
            + "-e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport -e tcp.flags -e tcp.seq_raw -e tcp.len 2>/dev/null")
        try #require(r.status == 0, "tshark failed on \(path): \(r.out)")
        var out: [String: [String]] = [:]
        for line in r.out.split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 9 else { continue }
            let src = f[1].isEmpty ? f[0] : f[1], dst = f[4].isEmpty ? f[3] : f[4]
            out["\(src):\(f[2]) > \(dst):\(f[5])", default: []].append("\(f[6]) \(f[7]) \(f[8])")
        }
        return out
    }

    /// MPLS: crafted from a real lab capture's frames (the lab's inner capture is not
    /// needed): each Ethernet frame of a fixture gets a two-label stack, as an LSR would
    /// push, and must give the same verdict. (The kernel's mpls_router could build this live
    /// but its module is not loadable everywhere; the frames here are byte-exact otherwise.)
    @Test func mplsWrappedLabCaptureKeepsItsVerdict() throws {
        let (header, records) = Fixture.records(Fixture.bytes("keepalive-death"))
        try #require(header[20] == 1, "fixture is not Ethernet")
        var out = header
        for r in records {
            var rec = Array(r[0..<16]), data = Array(r[16...])
            guard data.count >= 14, data[12] == 0x08, data[13] == 0x00 else { out += r; continue }
            data = Array(data[0..<12]) + [0x88, 0x47, 0x00, 0x01, 0x00, 0x40, 0x00, 0x01, 0x11, 0x40] + Array(data[14...])
            func put(_ at: Int, _ v: Int) { for k in 0..<4 { rec[at + k] = UInt8((v >> (8 * k)) & 0xFF) } }
            put(8, data.count); put(12, Int(rec[12]) | Int(rec[13]) << 8 | Int(rec[14]) << 16 | Int(rec[15]) << 24 + 8)
            out += rec + data
        }
        let wrapped = try Fixture.analyze(path: Fixture.temporary(out))
        let plain = try Fixture.analyze("keepalive-death")
        #expect(wrapped.packets == plain.packets && wrapped.tcpPackets == plain.tcpPackets)
        #expect(wrapped.connections.map { $0.outcome.mechanism } == plain.connections.map { $0.outcome.mechanism })
        #expect(wrapped.connections.map { $0.outcome.status } == plain.connections.map { $0.outcome.status })
    }
}
