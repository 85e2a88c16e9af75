import ConnDiagScenarios
import Foundation

/// `lab --list`: each scenario's id, group and title, its settings and expected outcome, and
/// its lesson.
public enum ScenarioListRenderer {
    public static func render(_ scenarios: [Scenario]) -> String {
        scenarios.map { s in
            "\(s.id.padding(toLength: 30, withPad: " ", startingAt: 0)) [\(s.group)] \(s.title)\n    settings: \(s.settings); expects \(s.expected.rawValue)"
                + (s.quickNote.map { "; --quick: \($0)" } ?? "") + "\n    \(s.lesson)\n"
        }.joined()
    }
}
