import Glibc
import ConnDiagCore
import ConnDiagPlatform
import ConnDiagTLS

/// The key log of a run: `--keylog` files read before the captures, and pcapng Decryption
/// Secrets Blocks as the captures bring them.
extension AnalyzeEngine {
    /// A key log larger than this is not a key log (a line is ~180 bytes).
    static let maximumKeyLogBytes = 256 << 20

    func readKeyLogFiles() throws {
        for path in options.keyLogFiles {
            let fd: Int32
            switch Syscall.result("open(\(path))", { open(path, O_RDONLY | O_CLOEXEC) }) {
            case .value(let opened): fd = opened
            case .error(let e): throw ConnDiagError.badInput("--keylog \(path): \(ErrnoName.message(e.errno.rawValue))")
            case .wouldBlock, .interrupted: throw ConnDiagError.badInput("--keylog \(path): cannot open")
            }
            defer { Glibc.close(fd) }
            let bytes: [UInt8]
            switch Syscall.readToEnd(fd) {
            case .value(let b): bytes = b
            case .error(let e): throw ConnDiagError.badInput("--keylog \(path): \(ErrnoName.message(e.errno.rawValue))")
            case .wouldBlock, .interrupted: throw ConnDiagError.badInput("--keylog \(path): cannot read")
            }
            guard bytes.count <= AnalyzeEngine.maximumKeyLogBytes else {
                throw ConnDiagError.badInput("--keylog \(path): \(bytes.count >> 20) MiB is not a key log")
            }
            let before = (keyLog.secretsRead, keyLog.problemCount)
            bytes.withUnsafeBytes { keyLog.read($0, source: path) }
            noteKeyLog(source: path, secrets: keyLog.secretsRead - before.0, problems: keyLog.problemCount - before.1)
        }
    }

    /// A pcapng Decryption Secrets Block: a TLS key log ('TLSK') is read, other kinds noted.
    func secretsBlock(type: UInt32, _ bytes: UnsafeRawBufferPointer, file: String) {
        secretsBlocks += 1
        let source = "\(file): decryption secrets block \(secretsBlocks)"
        guard type == 0x544c_534b else {
            problems.append("\(source) holds secrets of type 0x\(String(type, radix: 16)) (only TLS key logs, 'TLSK', are read)")
            return
        }
        let before = (keyLog.secretsRead, keyLog.problemCount)
        keyLog.read(bytes, source: source)
        noteKeyLog(source: source, secrets: keyLog.secretsRead - before.0, problems: keyLog.problemCount - before.1)
    }

    private func noteKeyLog(source: String, secrets: Int, problems count: Int) {
        if secrets == 0 { problems.append("\(source): no TLS secrets in it") }
        guard count > 0 else { return }
        let shown = keyLog.problems.filter { $0.hasPrefix(source + " line") }.prefix(3).map { $0.dropFirst(source.count + 1) }
        problems.append("\(source): \(count) line\(count == 1 ? "" : "s") could not be used (\(shown.joined(separator: "; "))\(count > shown.count ? "; ..." : "")); the other \(secrets) secret\(secrets == 1 ? " was" : "s were") read")
    }
}
