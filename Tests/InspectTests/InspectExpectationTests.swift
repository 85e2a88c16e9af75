import Testing
@testable import ConnDiagInspect
import ConnDiagCore
import ConnDiagOutput

@Suite struct InspectExpectationTests {
    func result(_ options: OptionsReading, _ prediction: DeathPrediction) -> InspectResult {
        let s = SockDiagSocket(family: 2, state: .established, timer: .keepalive, timerRetransmits: 0, expiresMs: 500,
                               localAddress: [127, 0, 0, 1], localPort: 1, remoteAddress: [127, 0, 0, 1], remotePort: 2, info: TCPInfoFields())
        let c = InspectedConnection(index: 1, socket: s, owner: nil, options: options, prediction: prediction, sampledAt: 0)
        return InspectResult(pid: 1, command: "x", namespace: "net:[1]", ownNamespace: true, kernel: KernelSettings(),
                             conntrackEstablishedTimeout: nil, connections: [c], findings: [])
    }

    @Test func grammar() throws {
        #expect(try InspectExpectation(parsing: "keepalive=on") == .keepalive(true))
        #expect(try InspectExpectation(parsing: "dead-within=60s") == .deadWithin(60))
        #expect(try InspectExpectation(parsing: "keepidle<=30s") == .keepIdleAtMost(30))
        #expect(try InspectExpectation(parsing: "user-timeout=20s") == .userTimeout(20))
        #expect(try InspectExpectation(parsing: "mechanism=user-timeout") == .mechanism(.userTimeout))
        #expect(throws: ConnDiagError.self) { try InspectExpectation(parsing: "keepalive=maybe") }
        #expect(throws: ConnDiagError.self) { try InspectExpectation(parsing: "dead-within=soon") }
    }

    @Test func checksEveryConnection() throws {
        let on = ApplicationOptions(keepalive: true, keepIdle: 30, keepInterval: 10, keepCount: 3)
        let found = result(.read(on), DeathPrediction(kind: .after(42.4), mechanism: .keepalive, explanation: ""))
        #expect(try InspectExpectation(parsing: "keepalive=on").check(found) == nil)
        #expect(try InspectExpectation(parsing: "dead-within=60s").check(found) == nil)
        #expect(try InspectExpectation(parsing: "dead-within=30s").check(found)?.contains("42.4") == true)
        let never = result(.read(ApplicationOptions(keepalive: false, keepIdle: 7200, keepInterval: 75, keepCount: 9)),
                           DeathPrediction(kind: .neverWhileIdle(afterNextWrite: 938), mechanism: .retransmissionLimit, explanation: ""))
        #expect(try InspectExpectation(parsing: "dead-within=60s").check(never)?.contains("never") == true)
        let unknown = result(.unknown("unknown (no ptrace rights)"), DeathPrediction(kind: .none, mechanism: .none, explanation: ""))
        #expect(try InspectExpectation(parsing: "keepalive=on").check(unknown)?.contains("no ptrace rights") == true)
        var empty = found
        empty.connections = []
        #expect(try InspectExpectation(parsing: "keepalive=on").check(empty) == "no connection matched")
    }
}
