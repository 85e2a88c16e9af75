import Testing
@testable import ConnDiagWatch

@Suite struct WatchPlaceholderTests {
    @Test func optionsDefault() { #expect(WatchOptions().interface == "any") }
}
