import Foundation
import ConnDiagCore

/// Runs a host tool (`ip`, `iptables`) with arguments, never through a shell, and turns a
/// failure into a one-line environment error quoting the tool's own message.
enum HostCommand {
    @discardableResult
    static func run(_ arguments: [String], allowFailure: Bool = false) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try locate(arguments[0]))
        process.arguments = Array(arguments.dropFirst())
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw ConnDiagError.environment("cannot run \(arguments[0]): \(error.localizedDescription)")
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus != 0 && !allowFailure {
            let message = String(decoding: errData, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? "exit \(process.terminationStatus)"
            throw ConnDiagError.environment("\(arguments.joined(separator: " ")): \(message)")
        }
        return String(decoding: outData, as: UTF8.self)
    }

    /// Absolute path of a tool in the usual system directories (PATH may be minimal under sudo).
    static func locate(_ tool: String) throws -> String {
        if tool.hasPrefix("/") { return tool }
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            + ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin"]
        for d in dirs where FileManager.default.isExecutableFile(atPath: d + "/" + tool) { return d + "/" + tool }
        throw ConnDiagError.environment("\(tool) not found (install iproute2 and iptables)")
    }
}
