/// Parses and prints durations the way users type them: `250ms`, `2s`, `1m30s`, `1.5s`,
/// `2h`, or a bare number of seconds.
public enum DurationText {
    /// "+12 ms", "-3 ms": how far an observed moment is from its prediction.
    public static func signedMilliseconds(_ seconds: Double) -> String {
        let ms = (seconds * 1000).rounded()
        return (ms >= 0 ? "+" : "") + String(Int(ms)) + " ms"
    }

    public static func parse(_ text: String) -> Double? {
        let s = text.trimmingSpaces()
        guard !s.isEmpty, !s.hasPrefix("-") else { return nil }
        if let plain = Double(s) { return plain.isFinite && plain >= 0 ? plain : nil }
        var total = 0.0
        var number = ""
        var unit = ""
        var sawAny = false
        func flush() -> Bool {
            guard !number.isEmpty, let n = Double(number), n.isFinite else { return false }
            let scale: Double
            switch unit {
            case "ns": scale = 1e-9
            case "us", "µs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            default: return false
            }
            total += n * scale
            number = ""; unit = ""; sawAny = true
            return true
        }
        for ch in s {
            if ch.isNumber || ch == "." {
                if !unit.isEmpty { guard flush() else { return nil } }
                number.append(ch)
            } else if ch.isLetter || ch == "µ" {
                guard !number.isEmpty else { return nil }
                unit.append(ch)
            } else { return nil }
        }
        guard flush(), sawAny, total.isFinite else { return nil }
        return total
    }

    /// "1.000s", "250ms", "2m 11s" depending on size.
    public static func format(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        if seconds < 120 { return trimmed(seconds) + "s" }
        let total = Int(seconds.rounded())
        let h = total / 3600, m = (total % 3600) / 60, sec = total % 60
        if h > 0 { return sec == 0 ? "\(h)h \(m)min" : "\(h)h \(m)min \(sec)s" }
        return sec == 0 ? "\(m)min" : "\(m)min \(sec)s"
    }

    /// An elapsed time for a sentence: "0.4 ms", "26 ms", "7.118 s", "2min 11s".
    public static func elapsed(_ seconds: Double) -> String {
        if seconds < 0.01 { return trimmed((seconds * 10000).rounded() / 10) + " ms" }
        if seconds < 1 { return trimmed((seconds * 1000).rounded()) + " ms" }
        if seconds < 120 { return trimmed(seconds) + " s" }
        return format(seconds)
    }

    /// Seconds with up to 3 decimals, trailing zeros dropped: 7 -> "7", 1.25 -> "1.25".
    public static func trimmed(_ seconds: Double) -> String {
        var s = String(format6: seconds)
        s.removeLast(3)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }
}

extension Substring {
    func trimmingPrefixSpaces() -> Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        return s
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
