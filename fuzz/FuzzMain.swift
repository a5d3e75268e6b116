// libFuzzer entry point for skiff's config decoders (see fuzz/README.md).
//
// One input is tried as: raw JSON (SkiffJSON), config.json (Spec.parse), an `exec --process`
// file (Process.parse), an `update --resources` file (Resources.parse), and, when it decodes
// to a spec with linux.seccomp, the seccomp compiler (libseccomp, as `create` does before fork).
//
// Besides "no crash, no hang", it checks properties the rest of skiff relies on:
//   - a parsed document serializes to JSON that parses back to the same value (state.json,
//     `state` and exec's saved process are written with `serialized()` and read back);
//   - a syntax error has a line and column inside the input;
//   - error messages stay bounded (a 10 MB bad value must not produce a 10 MB message).
import OCISpec
import Seccomp
import SkiffJSON

/// Longest error message accepted (characters). skiff quotes the bad value; long values are
/// expected to be cut, as `Node.typeError` does at 40 characters.
let maxMessage = 4096

@inline(never)
func check(_ ok: @autoclosure () -> Bool, _ what: @autoclosure () -> String) {
    if !ok() {
        print("FUZZ PROPERTY FAILED: \(what())")
        fatalError("property failed")
    }
}

func checkMessage(_ e: Error, _ where_: String) {
    let text = "\(e)"
    check(text.count <= maxMessage, "\(where_): error message of \(text.count) characters: \(text.prefix(200))...")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    // 1. The JSON parser on raw bytes, and the round trip.
    do {
        let v = try JSONParser.parse(bytes: bytes)
        let text = v.serialized()
        let back: JSON
        do { back = try JSONParser.parse(text) } catch {
            check(false, "serialized JSON does not parse: \(error): \(text.prefix(200))")
            return 0
        }
        check(back == v, "round trip changed the value: \(text.prefix(200))")
        let pretty = v.serialized(indent: 2)
        check((try? JSONParser.parse(pretty)) == v, "indented round trip changed the value")
    } catch let e as JSONSyntaxError {
        check(e.line >= 1 && e.column >= 1, "syntax error position \(e.line):\(e.column)")
        checkMessage(e, "JSONParser")
    } catch {
        check(false, "JSONParser threw a non-syntax error: \(error)")
    }

    // 2. The typed decoders, as skiff reads its input files (bytes decoded as UTF-8 first).
    let text = String(decoding: bytes, as: UTF8.self)
    do {
        let spec = try Spec.parse(text)
        if let profile = spec.linux?.seccomp {
            do { _ = try SeccompProgram(profile, path: "linux.seccomp") } catch { checkMessage(error, "SeccompProgram") }
        }
        _ = spec.annotations.count
    } catch { checkMessage(error, "Spec.parse") }
    do { _ = try Process.parse(text) } catch { checkMessage(error, "Process.parse") }
    do { _ = try Resources.parse(text) } catch { checkMessage(error, "Resources.parse") }
    return 0
}
