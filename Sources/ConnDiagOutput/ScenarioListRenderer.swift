import ConnDiagScenarios

/// `lab --list`: each scenario's id, group and title, its settings and expected outcome, and
/// its lesson.
public enum ScenarioListRenderer {
    public static func render(_ scenarios: [Scenario]) -> String {
        scenarios.map { s in
            "\(padded(s.id, to: 30)) [\(s.group)] \(s.title)\n    settings: \(s.settings); expects \(s.expected.rawValue)"
                + (s.quickNote.map { "; --quick: \($0)" } ?? "") + "\n    \(s.lesson)\n"
        }.joined()
    }

    /// `s` cut or padded with spaces to `width` characters.
    static func padded(_ s: String, to width: Int) -> String {
        s.count >= width ? String(s.prefix(width)) : s + String(repeating: " ", count: width - s.count)
    }
}
