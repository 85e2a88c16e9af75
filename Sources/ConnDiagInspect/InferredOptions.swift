/// What the kernel's view of a socket proves about the options when they cannot be read
/// (no ptrace rights). Only what is certain: the keepalive timer (idiag_timer 2) is armed on
/// an established or close-wait connection only when SO_KEEPALIVE is on (in FIN_WAIT2 the
/// same timer is the orphan's FIN timeout, so that state proves nothing). KEEPIDLE and the
/// others are not derivable from one sample: the timer is re-armed lazily, not at each
/// segment received.
public enum InferredOptions {
    public static let keepaliveSource = "inferred from the armed keepalive timer"

    public static func keepaliveOn(_ s: SockDiagSocket) -> Bool {
        s.timer == .keepalive && (s.state == .established || s.state == .closeWait)
    }
}
