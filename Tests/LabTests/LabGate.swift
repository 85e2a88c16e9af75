import Foundation
import Glibc

/// Lab tests need root (namespaces, iptables inside them, raw capture). On a developer's
/// laptop without root they skip; with CI=true they always run, and fail without root.
enum LabGate {
    static var isRoot: Bool { geteuid() == 0 }
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
    static var enabled: Bool { isRoot || isCI }
}
