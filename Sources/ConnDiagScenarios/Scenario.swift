import ConnDiagCore

/// One reproducible failure: what it sets up, the mechanism it must end in, and the lesson.
public struct Scenario: Sendable {
    public var id: String
    public var group: Int
    public var title: String
    public var settings: String
    public var expected: Mechanism
    /// Allowed |observed - predicted| in seconds.
    public var tolerance: Double
    public var lesson: String
    /// Why the quick matrix shortened or only predicted it (nil when it runs as in full).
    public var quickNote: String?
    /// Nominal run time in seconds (full and quick), for the "how long" line.
    public var seconds: (full: Double, quick: Double)
    let run: @Sendable (_ quick: Bool) throws -> ScenarioResult

    public init(id: String, group: Int, title: String, settings: String, expected: Mechanism, tolerance: Double, lesson: String,
                quickNote: String? = nil, seconds: (full: Double, quick: Double), run: @escaping @Sendable (_ quick: Bool) throws -> ScenarioResult) {
        self.id = id; self.group = group; self.title = title; self.settings = settings; self.expected = expected
        self.tolerance = tolerance; self.lesson = lesson; self.quickNote = quickNote; self.seconds = seconds; self.run = run
    }
}

/// What a scenario produced.
public struct ScenarioResult: Sendable {
    public var outcome: Outcome
    /// Seconds from the scenario's reference moment (connect, or the fault) to detection.
    public var observed: Double?
    public var predicted: Double?
    /// True when nothing was run because the quick matrix only predicts it.
    public var predictedOnly: Bool
    public var settings: String?
    public var events: Int
    public init(outcome: Outcome, observed: Double?, predicted: Double?, predictedOnly: Bool = false, settings: String? = nil, events: Int = 0) {
        self.outcome = outcome; self.observed = observed; self.predicted = predicted
        self.predictedOnly = predictedOnly; self.settings = settings; self.events = events
    }
}

/// A matrix row: the scenario, its result, and whether it matched its expectation.
public struct ScenarioRow: Sendable {
    public var scenario: Scenario
    public var result: ScenarioResult?
    public var error: String?
    public var elapsed: Double

    public var deviation: Double? {
        guard let o = result?.observed, let p = result?.predicted else { return nil }
        return o - p
    }

    public var passed: Bool {
        guard let r = result, error == nil else { return false }
        if r.outcome.mechanism != scenario.expected && !(r.predictedOnly) { return false }
        if let d = deviation { return abs(d) <= scenario.tolerance }
        return true
    }

    public var json: JSONValue {
        var b = JSONObjectBuilder()
        b.add("id", scenario.id)
        b.add("group", scenario.group)
        b.add("title", scenario.title)
        b.add("settings", result?.settings ?? scenario.settings)
        b.add("expected_mechanism", scenario.expected.rawValue)
        if let r = result {
            b.add("outcome", r.outcome.json)
            b.add("observed_s", r.observed.map { JSONValue.double(round6($0)) } ?? .null)
            b.add("predicted_s", r.predicted.map { JSONValue.double(round6($0)) } ?? .null)
            b.add("deviation_ms", deviation.map { JSONValue.double(($0 * 1e6).rounded() / 1e3) } ?? .null)
            b.add("predicted_only", r.predictedOnly)
        }
        b.add("tolerance_ms", scenario.tolerance * 1000)
        b.add("error", error)
        b.add("passed", passed)
        b.add("lesson", scenario.lesson)
        b.add("quick_note", scenario.quickNote)
        b.add("elapsed_s", round6(elapsed))
        return b.value
    }
}
