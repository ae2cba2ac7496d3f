import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns SIGINT (Ctrl-C) into a flag the training loop checks between steps, so the current step
/// finishes and a checkpoint is saved before exiting. A second Ctrl-C is left to the flag too: the loop
/// is at most one step from stopping.
public final class InterruptFlag: @unchecked Sendable {
    private let raised = Atomic<Bool>(false)
    private var sources: [DispatchSourceSignal] = []

    public init() {}

    /// Starts catching SIGINT (and SIGTERM); `onSignal` also runs for each one (off the main thread, so it
    /// runs even while the main thread waits in a collective for a rank that has died).
    public func install(onSignal: (@Sendable (Int32) -> Void)? = nil) {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let queue = DispatchQueue(label: "understudy.interrupt")
        for number in [SIGINT, SIGTERM] {
            let s = DispatchSource.makeSignalSource(signal: number, queue: queue)
            s.setEventHandler { [weak self] in
                self?.raise()
                onSignal?(number)
            }
            s.resume()
            sources.append(s)
        }
    }

    /// Whether a signal arrived.
    public var isRaised: Bool { raised.load(ordering: .relaxed) }

    /// Raises the flag by hand (tests).
    public func raise() { raised.store(true, ordering: .relaxed) }
}
