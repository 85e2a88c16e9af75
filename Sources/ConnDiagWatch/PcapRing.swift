import Glibc
import ConnDiagCore
import ConnDiagTCP

/// `--write-pcap FILE [--pcap-ring MB]`: the raw packets, written by libpcap's dumper as they
/// are read. With a limit the file is a ring of two halves: when FILE holds half the limit it
/// becomes FILE.1 (replacing the older half) and a new FILE begins, so the disk use stays
/// under the limit and the latest packets are always kept.
final class PcapRing {
    let path: String
    let limitBytes: Int
    private var written = 0
    private var rotations = 0

    init(path: String, limitBytes: Int) { self.path = path; self.limitBytes = limitBytes }

    func start(on capture: PacketCapture) throws {
        try capture.startWriting(to: path)
        written = 24
    }

    /// Counts one packet the dumper wrote (record header + captured bytes).
    func count(_ p: CapturedPacket) { written += 16 + p.bytes.count }

    func rotateIfFull(on capture: PacketCapture) {
        guard limitBytes > 0, written >= limitBytes / 2 else { return }
        capture.stopWriting()
        _ = rename(path, path + ".1")
        rotations += 1
        do { try start(on: capture) } catch { written = Int.min / 2 }  // the path went away: stop writing
    }

    func stop(on capture: PacketCapture) { capture.stopWriting() }

    var note: String {
        if limitBytes > 0 && rotations > 0 {
            return "packets written to \(path) and \(path).1 (ring of \(limitBytes / 1_000_000) MB, \(rotations) rotation\(rotations == 1 ? "" : "s"): the older ones were dropped)"
        }
        return "packets written to \(path)"
    }
}
