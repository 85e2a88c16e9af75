import CNghttp2

/// The libnghttp2 conndiag runs with, for --version.
public enum NGHTTP2Library {
    /// nghttp2_version(0)'s version_str, e.g. "1.52.0".
    public static var version: String {
        guard let info = nghttp2_version(0), let text = info.pointee.version_str else { return "unknown" }
        return String(cString: text)
    }
}
