import ConnDiagCore
import ConnDiagOutput
import Testing

struct OutcomeExpectationTests {
    @Test func parsesAndChecks() throws {
        let refused = Outcome(status: .refused, mechanism: .rst, detectedAt: 0.001, summary: "")
        #expect(try OutcomeExpectation(parsing: "status=refused").check(refused) == nil)
        #expect(try OutcomeExpectation(parsing: "mechanism=rst").check(refused) == nil)
        #expect(try OutcomeExpectation(parsing: "ok").check(refused) != nil)
        #expect(try OutcomeExpectation(parsing: "detected-within=1s").check(refused) == nil)
        #expect(try OutcomeExpectation(parsing: "detected-within=0.5ms").check(refused) != nil)
        #expect(throws: ConnDiagError.self) { try OutcomeExpectation(parsing: "status=sideways") }
        #expect(throws: ConnDiagError.self) { try OutcomeExpectation(parsing: "bogus") }
    }
}
