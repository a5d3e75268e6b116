import LinuxSys

/// /etc/passwd lookups without NSS (a static binary must not load NSS modules, and the
/// container's users are in the container's /etc/passwd, not the host's).
enum Users {
    /// Fields of the passwd entry for `uid` in the file at `path`.
    static func entry(uid: UInt32, passwd path: String) -> [Substring]? {
        guard let text = Files.readIfPresent(path) else { return nil }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            if f.count >= 7, UInt32(f[2]) == uid { return f }
        }
        return nil
    }

    static func hostName(uid: UInt32) -> String {
        entry(uid: uid, passwd: "/etc/passwd").map { String($0[0]) } ?? String(uid)
    }

    /// HOME for the container process when process.env has none (runc does the same).
    static func home(uid: UInt32, passwd path: String = "/etc/passwd") -> String {
        entry(uid: uid, passwd: path).map { String($0[5]) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
    }
}
