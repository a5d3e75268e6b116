import Foundation
@testable import OCISpec

/// The runtime-spec test configs: /work/shared, or ../shared next to the package root.
func specTestFile(_ relative: String) throws -> String {
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let candidates = [
        "/work/shared/runtime-spec/schema/test/config/" + relative,
        packageRoot.appendingPathComponent("../shared/runtime-spec/schema/test/config/" + relative).path,
    ]
    for path in candidates where FileManager.default.fileExists(atPath: path) {
        return try String(contentsOfFile: path, encoding: .utf8)
    }
    throw DecodeError(path: relative, "test file not found in \(candidates)")
}

/// The description of the error decoding `text` as a Spec, or "no error".
func specError(_ text: String) -> String {
    do {
        _ = try Spec.parse(text)
        return "no error"
    } catch let e as DecodeError {
        return e.description
    } catch {
        return "unexpected error type: \(error)"
    }
}

/// The same for a standalone document of type T (process.json, resources file).
func documentError<T: JSONDecodable>(_ text: String, as type: T.Type) -> String {
    do {
        _ = try decodeJSONDocument(text, as: T.self)
        return "no error"
    } catch let e as DecodeError {
        return e.description
    } catch {
        return "unexpected error type: \(error)"
    }
}

/// A valid config with extra top-level members.
func config(_ members: String = "") -> String {
    #"{"ociVersion": "1.0.0", "root": {"path": "rootfs"}"# + (members.isEmpty ? "" : ", " + members) + "}"
}

/// A valid config whose process has the given members added (cwd, user and args have defaults).
func configWithProcess(cwd: String = #""/""#, user: String = #"{"uid": 0, "gid": 0}"#,
                       args: String = #"["sh"]"#, _ members: String = "") -> String {
    config(#""process": {"cwd": \#(cwd), "user": \#(user), "args": \#(args)"# + (members.isEmpty ? "" : ", " + members) + "}")
}

/// A valid config with the given `linux` members.
func configWithLinux(_ members: String) -> String {
    config(#""linux": {\#(members)}"#)
}
