/// Something that ends a run from outside: a descriptor that turns readable when it
/// happens (so a blocked poll wakes) and the fact itself. `InterruptSignal` is the
/// process's SIGINT/SIGTERM; tests give a reactor their own pipe instead, since a raised
/// signal cannot be lowered again.
public protocol InterruptSource: AnyObject {
    var readFD: Int32 { get }
    var isRaised: Bool { get }
}
