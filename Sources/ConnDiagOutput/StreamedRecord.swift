import ConnDiagAnalyze
import ConnDiagCore
import ConnDiagHTTP2Engine
import ConnDiagScenarios

/// A piece of a report that NDJSON writes as soon as the engine has it: an event of a run,
/// a connection `analyze` finished, a probed target, a lab scenario.
public enum StreamedRecord {
    case event(Event)
    case connection(ConnectionReport)
    case target(ProbeResult)
    case scenario(ScenarioRow)

    /// The NDJSON `type` of its line.
    var type: String {
        switch self {
        case .event: return "event"
        case .connection: return "connection"
        case .target: return "target"
        case .scenario: return "scenario"
        }
    }

    var json: JSONValue {
        switch self {
        case .event(let e): return e.json
        case .connection(let c): return c.json
        case .target(let r): return r.json
        case .scenario(let row): return row.json
        }
    }
}
