import SondeCore
import Synchronization

/// The modules `/probe` answers with now. A reload replaces them whole, so a scrape sees the old set or the new
/// one, never a mix; the OpenAPI document, which lists their names, is replaced with them.
final class LoadedModules: Sendable {
    struct Snapshot: Sendable {
        var modules: BlackboxModules
        var openAPI: String
        /// Seconds since 1970 of the last successful load.
        var loadedAt: Double
    }

    private let current: Mutex<Snapshot>

    init(_ snapshot: Snapshot) { current = Mutex(snapshot) }

    var snapshot: Snapshot { current.withLock { $0 } }

    func replace(with snapshot: Snapshot) { current.withLock { $0 = snapshot } }
}
