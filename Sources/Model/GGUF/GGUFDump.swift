import Kernels

extension GGUFFile {
    /// A human summary: version, alignment, metadata (long arrays and strings abbreviated) and a tensor table.
    public func summary(arrayPreview: Int = 3, maxStringLength: Int = 60) -> String {
        let style = GGUFValueStyle(arrayPreview: arrayPreview, maxStringLength: maxStringLength)
        var lines: [String] = []
        let totalTensorBytes = tensors.reduce(0) { $0 + $1.byteCount }
        let size = fileSize < 1024 ? "\(fileSize) bytes" : "\(formatBytes(fileSize)) (\(fileSize) bytes)"
        lines.append("GGUF v\(version), \(size), alignment \(alignment), data section at offset \(dataOffset)")
        lines.append("")
        lines.append("Metadata (\(metadata.count) keys):")
        for (key, value) in metadata {
            lines.append("  \(key): \(value.type) = \(style.render(value))")
        }
        lines.append("")
        lines.append("Tensors (\(tensors.count), \(formatBytes(totalTensorBytes))):")
        let rows = tensors.map { t in
            [t.name, "[" + t.dimensions.map(String.init).joined(separator: ", ") + "]", t.type.description,
             String(t.byteCount), String(t.offset)]
        }
        let header = ["name", "dims", "type", "bytes", "offset"]
        let widths = (0 ..< header.count).map { c in (rows + [header]).map { $0[c].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            var s = "  "
            for (c, cell) in cells.enumerated() {
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                // Numbers read best right-aligned, text left-aligned.
                s += c >= 3 ? pad + cell : cell + pad
                if c < cells.count - 1 { s += "  " }
            }
            return s
        }
        if !rows.isEmpty {
            lines.append(line(header))
            lines.append(contentsOf: rows.map(line))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// How `GGUFFile.summary` abbreviates values.
struct GGUFValueStyle {
    var arrayPreview: Int
    var maxStringLength: Int

    func render(_ value: GGUFValue) -> String {
        switch value {
        case .uint8(let v): return String(v)
        case .int8(let v): return String(v)
        case .uint16(let v): return String(v)
        case .int16(let v): return String(v)
        case .uint32(let v): return String(v)
        case .int32(let v): return String(v)
        case .uint64(let v): return String(v)
        case .int64(let v): return String(v)
        case .float32(let v): return String(v)
        case .float64(let v): return String(v)
        case .bool(let v): return String(v)
        case .string(let s): return quote(s)
        case .array(let a):
            let noun = "\(a.values.count) \(a.elementType)" + (a.values.count == 1 ? "" : "s")
            if a.values.isEmpty { return "[\(noun)]" }
            let shown = a.values.prefix(arrayPreview).map(render)
            let more = a.values.count > arrayPreview ? ", ..." : ""
            return "[\(noun): " + shown.joined(separator: ", ") + more + "]"
        }
    }

    /// A quoted, escaped string, cut to `maxStringLength` characters so one value stays on one line.
    func quote(_ s: String) -> String {
        var out = "\""
        var count = 0
        for ch in s.unicodeScalars {
            if count == maxStringLength {
                out += "...\" (\(s.utf8.count) bytes)"
                return out
            }
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if ch.value < 0x20 || ch.value == 0x7F {
                    out += "\\u{" + String(ch.value, radix: 16) + "}"
                } else {
                    out.unicodeScalars.append(ch)
                }
            }
            count += 1
        }
        return out + "\""
    }
}

/// Bytes in the largest binary unit that keeps the number at least 1, e.g. "1.5 MiB".
func formatBytes(_ n: Int) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(n)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    if unit == 0 { return "\(n) bytes" }
    let rounded = (value * 10).rounded() / 10
    return "\(rounded) \(units[unit])"
}
