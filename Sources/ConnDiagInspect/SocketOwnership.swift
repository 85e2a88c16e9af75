import Glibc
import ConnDiagCore

/// Which process holds which socket: /proc/PID/fd/N links read `socket:[INODE]`, and
/// sock_diag's idiag_inode is the same number.
public struct SocketOwner: Sendable, Equatable {
    public var pid: Int32
    public var fd: Int32
    public var command: String
    public init(pid: Int32, fd: Int32, command: String) { self.pid = pid; self.fd = fd; self.command = command }
}

public enum SocketOwnership {
    /// What reading a process's descriptor table gave.
    public enum FDTable: Equatable {
        /// Socket inode → fd (the lowest fd when shared).
        case sockets([UInt32: Int32])
        /// The process exists but its descriptors' links cannot be read: no ptrace rights
        /// (a different uid, or fewer capabilities than the process has).
        case denied
        case noSuchProcess
    }

    /// A directory entry's name, read in place: the kernel packs entries by `d_reclen`, so
    /// the last one of a buffer can be shorter than `dirent` — copying the whole 256-byte
    /// `d_name` tuple would read past the buffer (AddressSanitizer caught it).
    static func name(of entry: UnsafeMutablePointer<dirent>) -> String {
        let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        return String(cString: (UnsafeRawPointer(entry) + offset).assumingMemoryBound(to: CChar.self))
    }

    /// The socket inodes of `pid`'s descriptors.
    public static func table(of pid: Int32) -> FDTable {
        guard let dir = opendir("/proc/\(pid)/fd") else { return errno == ENOENT ? .noSuchProcess : .denied }
        defer { closedir(dir) }
        var map: [UInt32: Int32] = [:]
        var denied = 0, read = 0
        while let entry = readdir(dir) {
            let name = SocketOwnership.name(of: entry)
            guard let fd = Int32(name) else { continue }
            guard let target = readLink("/proc/\(pid)/fd/\(name)") else {
                if errno == EACCES || errno == EPERM { denied += 1 }
                continue
            }
            read += 1
            guard let inode = socketInode(target) else { continue }
            if let old = map[inode], old < fd { continue }
            map[inode] = fd
        }
        return denied > 0 && read == 0 ? .denied : .sockets(map)
    }

    /// The socket inodes of `pid`'s descriptors (inode → fd), nil when they cannot be read.
    public static func sockets(of pid: Int32) -> [UInt32: Int32]? {
        if case .sockets(let map) = table(of: pid) { return map }
        return nil
    }

    /// The real uid of `pid` (/proc/PID/status, readable without ptrace rights).
    public static func uid(of pid: Int32) -> UInt32? {
        guard let text = readSmallFile("/proc/\(pid)/status", limit: 8192),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }) else { return nil }
        return line.dropFirst(4).split(whereSeparator: { $0 == "\t" || $0 == " " }).first.flatMap { UInt32($0) }
    }

    /// `socket:[12345]` → 12345.
    static func socketInode(_ link: String) -> UInt32? {
        guard link.hasPrefix("socket:["), link.hasSuffix("]") else { return nil }
        return UInt32(link.dropFirst(8).dropLast())
    }

    /// The process's name (/proc/PID/comm), "?" when it is gone.
    public static func command(of pid: Int32) -> String {
        guard let text = readSmallFile("/proc/\(pid)/comm", limit: 64) else { return "?" }
        return String(text.prefix { $0 != "\n" })
    }

    /// Owners of the given inodes among every process, for `--all`. Bounded: stops after
    /// `maxProcesses` processes or `maxDescriptors` descriptors looked at, and says so.
    public static func owners(of inodes: Set<UInt32>, maxProcesses: Int = 100_000, maxDescriptors: Int = 2_000_000)
        -> (owners: [UInt32: SocketOwner], complete: Bool)
    {
        var owners: [UInt32: SocketOwner] = [:]
        guard let proc = opendir("/proc") else { return ([:], false) }
        defer { closedir(proc) }
        var processes = 0, descriptors = 0
        while let entry = readdir(proc) {
            let name = SocketOwnership.name(of: entry)
            guard let pid = Int32(name) else { continue }
            processes += 1
            if processes > maxProcesses || descriptors > maxDescriptors { return (owners, false) }
            guard let fds = sockets(of: pid) else { continue }
            descriptors += fds.count
            var command: String?
            for (inode, fd) in fds where inodes.contains(inode) && owners[inode] == nil {
                if command == nil { command = self.command(of: pid) }
                owners[inode] = SocketOwner(pid: pid, fd: fd, command: command!)
            }
            if owners.count == inodes.count { break }
        }
        return (owners, true)
    }
}
