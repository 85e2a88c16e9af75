import Glibc

/// errno numbers as symbolic names ("ETIMEDOUT"), the way the JSON contract reports them.
public enum ErrnoName {
    static let table: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", EINTR: "EINTR", EIO: "EIO", EBADF: "EBADF",
        EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES", EFAULT: "EFAULT", EBUSY: "EBUSY",
        EEXIST: "EEXIST", EINVAL: "EINVAL", EMFILE: "EMFILE", ENFILE: "ENFILE", ENOSPC: "ENOSPC",
        EPIPE: "EPIPE", ENOPROTOOPT: "ENOPROTOOPT", EPROTONOSUPPORT: "EPROTONOSUPPORT",
        EOPNOTSUPP: "EOPNOTSUPP", EAFNOSUPPORT: "EAFNOSUPPORT", EADDRINUSE: "EADDRINUSE",
        EADDRNOTAVAIL: "EADDRNOTAVAIL", ENETDOWN: "ENETDOWN", ENETUNREACH: "ENETUNREACH",
        ENETRESET: "ENETRESET", ECONNABORTED: "ECONNABORTED", ECONNRESET: "ECONNRESET",
        ENOBUFS: "ENOBUFS", EISCONN: "EISCONN", ENOTCONN: "ENOTCONN", ETIMEDOUT: "ETIMEDOUT",
        ECONNREFUSED: "ECONNREFUSED", EHOSTDOWN: "EHOSTDOWN", EHOSTUNREACH: "EHOSTUNREACH",
        EALREADY: "EALREADY", EINPROGRESS: "EINPROGRESS", EPROTO: "EPROTO", EMSGSIZE: "EMSGSIZE",
        ENOTSOCK: "ENOTSOCK",
    ]

    public static func name(_ code: Int32) -> String { table[code] ?? "E\(code)" }

    public static func code(_ name: String) -> Int32? { table.first { $0.value == name }?.key }

    /// strerror text, e.g. "Connection timed out".
    public static func message(_ code: Int32) -> String { String(cString: strerror(code)) }
}
