import Glibc
import Kernels
import Testing
@testable import Model

/// Truncated and randomly corrupted files must load with an error or load consistently; never crash.
@Suite struct GGUFCorruptionTests {
    static let original: [UInt8] = try! GGUFFixture.writer(alignment: 64).serialized()
    static let headerEnd: Int = try! GGUFFile(bytes: original).dataOffset

    /// Loads `bytes`; on success checks every invariant a caller relies on and returns nil.
    private func check(_ bytes: [UInt8]) -> GGUFError? {
        let file: GGUFFile
        do {
            file = try GGUFFile(bytes: bytes)
        } catch {
            #expect(!error.description.isEmpty)
            return error
        }
        #expect(file.dataOffset % file.alignment == 0 || file.dataOffset == file.fileSize)
        var sum = 0
        for t in file.tensors {
            #expect(t.offset % file.alignment == 0)
            #expect(file.dataOffset + t.offset + t.byteCount <= file.fileSize)
            for b in file.data(for: t) { sum &+= Int(b) }   // touches every byte: faults if out of range
        }
        _ = file.summary()
        return nil
    }

    private func peakRSSKiB() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss
    }

    @Test func truncationAtEveryByteFails() {
        let file = try! GGUFFile(bytes: Self.original)
        let needed = file.dataOffset + file.tensors.map { $0.offset + $0.byteCount }.max()!
        #expect(Self.headerEnd > 600)   // the fixture's header region is big enough to be interesting
        for length in 0 ..< needed {
            guard let error = check(Array(Self.original[..<length])) else {
                Issue.record("prefix of \(length) bytes loaded"); continue
            }
            switch error {
            case .fileTooSmall, .truncated, .tooLarge, .tensorOutOfBounds: break
            default: Issue.record("prefix of \(length) bytes: unexpected error \(error)")
            }
        }
        // Cutting only the trailing padding leaves every tensor intact.
        #expect(check(Array(Self.original[..<needed])) == nil)
    }

    @Test func hugeValuesAtEveryHeaderOffsetNeverCrash() {
        let rssBefore = peakRSSKiB()
        let splats: [[UInt8]] = [UInt64.max, 1 << 63, 1 << 60, UInt64(Int64.max), 1 << 32, 0].map { v in
            withUnsafeBytes(of: v.littleEndian) { Array($0) }
        } + [[0xFF, 0xFF, 0xFF, 0xFF], [0, 0, 0, 0x80], [0x0D, 0, 0, 0], [0x1F, 0, 0, 0]]
        var failures = 0
        var loads = 0
        for offset in 0 ..< Self.headerEnd {
            for splat in splats {
                var bytes = Self.original
                for (i, b) in splat.enumerated() where offset + i < bytes.count { bytes[offset + i] = b }
                if check(bytes) == nil { loads += 1 } else { failures += 1 }
            }
        }
        #expect(failures > loads)   // most big values land in counts, lengths and tags
        let grownMiB = (peakRSSKiB() - rssBefore) / 1024
        #expect(grownMiB < 256, "peak RSS grew by \(grownMiB) MiB")
    }

    @Test func seededRandomCorruptionsNeverCrash() {
        var rng = SplitMix64(seed: 0x6767_7566)
        let rssBefore = peakRSSKiB()
        var outcomes: [String: Int] = [:]
        for _ in 0 ..< 4000 {
            var bytes = Self.original
            switch rng.next() % 3 {
            case 0:   // a few random bytes anywhere in the header region
                for _ in 0 ..< Int.random(in: 1 ... 6, using: &rng) {
                    bytes[Int.random(in: 0 ..< Self.headerEnd, using: &rng)] = UInt8.random(in: 0 ... 255, using: &rng)
                }
            case 1:   // one random 64-bit value, often huge
                let at = Int.random(in: 0 ..< Self.headerEnd - 8, using: &rng)
                let v = rng.next() >> (rng.next() % 64)
                withUnsafeBytes(of: v.littleEndian) { for i in 0 ..< 8 { bytes[at + i] = $0[i] } }
            default:  // a random byte flipped plus a random truncation or extension
                let at = Int.random(in: 0 ..< Self.headerEnd, using: &rng)
                bytes[at] ^= UInt8(1 << (rng.next() % 8))
                let newLength = Int.random(in: 0 ... bytes.count + 64, using: &rng)
                if newLength < bytes.count { bytes.removeLast(bytes.count - newLength) }
                else { bytes += [UInt8](repeating: 0xAB, count: newLength - bytes.count) }
            }
            // Bucket by error case (the Mirror label), not by message.
            let name = check(bytes).map { Mirror(reflecting: $0).children.first?.label ?? "\($0)" } ?? "loaded"
            outcomes[name, default: 0] += 1
        }
        // Corruptions should exercise many distinct checks, not trip one early guard.
        #expect(outcomes.count >= 12, "outcomes: \(outcomes)")
        let grownMiB = (peakRSSKiB() - rssBefore) / 1024
        #expect(grownMiB < 256, "peak RSS grew by \(grownMiB) MiB")
    }
}
