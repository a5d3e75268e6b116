import Glibc

/// A failed system call, formatted as "verb `path`: strerror" so that a person sees what failed
/// and on which file: mount `/proc` on `/run/x/rootfs/proc`: Operation not permitted.
public struct SysError: Error, CustomStringConvertible {
    public let operation: String
    public let errno: Int32

    public init(_ operation: String, errno: Int32 = Glibc.errno) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String { "\(operation): \(SysError.text(errno))" }

    public static func text(_ e: Int32) -> String {
        guard let p = strerror(e) else { return "errno \(e)" }
        return String(cString: p)
    }
}

/// Runs a syscall wrapper until it does not fail with EINTR; throws on -1.
@discardableResult
@inline(__always)
public func sys<T: BinaryInteger>(_ what: @autoclosure () -> String, _ call: () -> T) throws -> T {
    while true {
        let r = call()
        if r != -1 { return r }
        if errno == EINTR { continue }
        throw SysError(what())
    }
}

/// Quotes a path for messages the way crun does: `/proc/self/fd`.
@inline(__always)
/// A path quoted for a message; one longer than 300 characters is cut (a config value can be megabytes).
public func q(_ path: String) -> String {
    path.utf8.count <= 300 ? "`\(path)`" : "`\(path.prefix(300))...`"
}
