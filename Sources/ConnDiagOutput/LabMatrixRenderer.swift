import ConnDiagCore
import ConnDiagScenarios

/// The lab matrix as a table: one row per scenario with the mechanism that detected the
/// failure, observed and predicted times, the deviation and the lesson.
public enum LabMatrixRenderer {
    public static func render(_ rows: [ScenarioRow], summary: String, quick: Bool) -> String {
        func t(_ v: Double?) -> String { v.map { DurationText.elapsed($0) } ?? "-" }
        var out = "  scenario".padding(to: 31) + "mechanism".padding(to: 24) + "observed".padding(to: 12) + "predicted".padding(to: 13)
            + "deviation".padding(to: 11) + "lesson\n"
        for r in rows {
            let mech = r.result.map { $0.outcome.mechanism.rawValue } ?? "error"
            let obs = r.result?.predictedOnly == true ? "(predicted)" : t(r.result?.observed)
            let dev = r.deviation.map { ($0 >= 0 ? "+" : "") + DurationText.trimmed(($0 * 1000).rounded()) + " ms" } ?? "-"
            out += ((r.passed ? "  " : "✗ ") + r.scenario.id).padding(to: 31) + mech.padding(to: 24) + obs.padding(to: 12)
                + t(r.result?.predicted).padding(to: 13) + dev.padding(to: 11) + r.scenario.lesson + "\n"
            if let e = r.error { out += "    error: \(e)\n" }
            if quick, let n = r.scenario.quickNote { out += "    --quick: \(n)\n" }
        }
        return out + summary + "\n"
    }
}
