import Foundation
import TestFixtures
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Running `understudy train` / `distill` under Open MPI's mpirun on this machine.
enum MPIFixtures {
    /// Open MPI's mpirun, when installed (scripts/test.sh installs openmpi-bin).
    static let mpirun: String? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// mpirun's options: run as root (as CI does), on however many cores there are, with threads unpinned
    /// (each rank's --threads share the cores), and without the single-copy shared-memory mechanism, which
    /// containers that forbid ptrace reject.
    static let options = ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "--mca", "btl_vader_single_copy_mechanism", "none"]

    /// `mpirun … -np ranks understudy arguments…`.
    static func command(ranks: Int, _ arguments: [String]) -> [String] {
        options + ["-np", "\(ranks)", CommandLineTests.binary] + arguments
    }

    static func run(ranks: Int, _ arguments: [String]) throws -> CommandLineTests.Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun!)
        process.arguments = command(ranks: ranks, arguments)
        let stderr = Fixtures.temporaryPath("mpirun-stderr.txt")
        FileManager.default.createFile(atPath: stderr, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderr))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return CommandLineTests.Outcome(status: process.terminationStatus, stdout: "",
                                        stderr: try String(contentsOfFile: stderr, encoding: .utf8),
                                        exitedNormally: process.terminationReason == .exit)
    }

    /// The parameters stored in a checkpoint (the first of its three Float32 arrays).
    static func parameters(_ path: String) throws -> [Float] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let (_, json) = try TrainFixtures.checkpoint(path)
        let length = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
        let count = json["parameterCount"] as! Int
        return bytes[(12 + length)..<(12 + length + 4 * count)].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// Expects two loss logs to agree step by step within `relative` and two checkpoints' parameters to agree
    /// within `weights` of the largest parameter (relative to single weights, the few that sit near zero after
    /// AdamW's sign-like first steps would measure only rounding).
    static func expectSameRun(_ a: String, _ b: String, relative: Double = 1e-4, weights: Float = 1e-5) throws {
        let lossesA = try TrainFixtures.lossLog(a + "/loss.csv"), lossesB = try TrainFixtures.lossLog(b + "/loss.csv")
        #expect(lossesA.map(\.step) == lossesB.map(\.step) && !lossesA.isEmpty)
        for (x, y) in zip(lossesA, lossesB) {
            #expect(abs(x.loss - y.loss) <= relative * abs(x.loss), "step \(x.step): loss \(x.loss) vs \(y.loss)")
        }
        let heldOutA = try heldOutLosses(a + "/loss.csv"), heldOutB = try heldOutLosses(b + "/loss.csv")
        #expect(heldOutA.map(\.step) == heldOutB.map(\.step))
        for (x, y) in zip(heldOutA, heldOutB) {
            #expect(abs(x.loss - y.loss) <= relative * abs(x.loss), "step \(x.step): held-out loss \(x.loss) vs \(y.loss)")
        }
        let p = try parameters(a + "/checkpoint.bin"), q = try parameters(b + "/checkpoint.bin")
        #expect(p.count == q.count)
        let largest = p.map(abs).max() ?? 0
        let difference = zip(p, q).map { abs($0 - $1) }.max() ?? 0
        #expect(difference <= weights * largest, "weights differ by \(difference), the largest is \(largest)")
    }

    /// The steps with a held-out loss in a loss.csv (its last column), and that loss.
    static func heldOutLosses(_ path: String) throws -> [(step: Int, loss: Double)] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard let last = fields.last, !last.isEmpty else { return nil }
            guard let step = Int(fields[0]), let loss = Double(last) else { throw FixtureError("\(path): bad row '\(line)'") }
            return (step, loss)
        }
    }

    /// The process id of rank `rank` of the job writing into `out` (from /proc: its command line names
    /// `out`, its environment holds the rank that mpirun gave it).
    static func pid(ofRank rank: Int, writing out: String) -> pid_t? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = pid_t(entry),
                  let commandLine = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                  let environment = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
            let arguments = commandLine.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if arguments.first?.hasSuffix("understudy") == true && arguments.contains(out)
                && variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") {
                return pid
            }
        }
        return nil
    }
}

@Suite(.serialized, .enabled(if: MPIFixtures.mpirun != nil, "needs Open MPI's mpirun (apt-get install openmpi-bin)"))
struct TrainMPITests {
    /// The tiny student of `TrainFixtures` with one thread and `batch` sequences per process.
    static func arguments(tokenizer: String, shard: String, out: String, steps: Int, batch: Int) -> [String] {
        var a = TrainFixtures.trainArguments(tokenizer: tokenizer, shard: shard, out: out, steps: steps)
        a[a.firstIndex(of: "--batch")! + 1] = "\(batch)"
        a[a.firstIndex(of: "--threads")! + 1] = "1"
        return a
    }

    @Test func twoRanksWithBatchTwoTrainLikeOneProcessWithBatchFour() throws {
        let (tokenizer, shard) = try TrainFixtures.corpus()
        let one = Fixtures.temporaryPath("mpi-train-1"), two = Fixtures.temporaryPath("mpi-train-2")
        // The held-out loss every 5 steps is computed by both ranks too, each on its rows.
        let heldOut = ["--eval-data", shard, "--eval-every", "5"]
        let single = try CommandLineTests.run(["train"] + Self.arguments(tokenizer: tokenizer, shard: shard, out: one, steps: 20, batch: 4) + heldOut)
        #expect(single.status == 0, "\(single.stderr)")
        #expect(try MPIFixtures.heldOutLosses(one + "/loss.csv").map(\.step) == [5, 10, 15, 20])
        let job = try MPIFixtures.run(ranks: 2, ["train"] + Self.arguments(tokenizer: tokenizer, shard: shard, out: two, steps: 20, batch: 2) + heldOut)
        #expect(job.status == 0, "\(job.stderr)")
        #expect(job.stderr.contains("batch 4 = 2 ranks × 2"), "\(job.stderr)")
        try MPIFixtures.expectSameRun(one, two)
        // Rank 0 alone wrote the files, and said things once.
        #expect(FileManager.default.fileExists(atPath: two + "/model.gguf") && FileManager.default.fileExists(atPath: two + "/loss.svg"))
        #expect(job.stderr.components(separatedBy: "wrote \(two)/model.gguf").count == 2, "\(job.stderr)")
    }

    @Test func twoRanksDistillLikeOneProcessAndShareTheTeacherCache() throws {
        let (tokenizer, shard) = try TrainFixtures.corpus()
        let teacher = try CommandLineTests.tinyModel(type: .q8_0)
        func distill(_ out: String, ranks: Int, extra: [String]) throws -> CommandLineTests.Outcome {
            let arguments = ["distill", "--teacher", teacher, "--alpha", "0.7", "--temperature", "1.5"] + extra
                + Self.arguments(tokenizer: tokenizer, shard: shard, out: out, steps: 20, batch: 4 / ranks)
            return ranks == 1 ? try CommandLineTests.run(arguments) : try MPIFixtures.run(ranks: ranks, arguments)
        }
        // Full teacher logits: each rank runs the teacher on its own rows.
        let one = Fixtures.temporaryPath("mpi-distill-1"), two = Fixtures.temporaryPath("mpi-distill-2")
        for (out, ranks) in [(one, 1), (two, 2)] {
            let result = try distill(out, ranks: ranks, extra: [])
            #expect(result.status == 0, "\(result.stderr)")
        }
        try MPIFixtures.expectSameRun(one, two)

        // Sampled targets: two ranks fill the cache (each samples its rows, rank 0 stores whole steps); one
        // process then reads every step from it and trains the same way.
        let cache = Fixtures.temporaryPath("mpi-teacher-cache")
        let filled = Fixtures.temporaryPath("mpi-distill-fill"), read = Fixtures.temporaryPath("mpi-distill-read")
        let fill = try distill(filled, ranks: 2, extra: ["--teacher-cache", cache, "--teacher-samples", "8"])
        #expect(fill.status == 0 && fill.stderr.contains("teacher: ran for 20 steps"), "\(fill.stderr)")
        let reuse = try distill(read, ranks: 1, extra: ["--teacher-cache", cache, "--teacher-samples", "8"])
        #expect(reuse.status == 0 && reuse.stderr.contains("teacher: ran for 0 steps") && reuse.stderr.contains("the cache answered 20"),
                "\(reuse.stderr)")
        try MPIFixtures.expectSameRun(filled, read)
    }

    @Test func killingRankOneStopsTheJobAndResumeContinuesWithAnotherNumberOfRanks() throws {
        let (tokenizer, shard) = try TrainFixtures.corpus()
        let out = Fixtures.temporaryPath("mpi-kill")
        let steps = 400
        let process = Process()
        process.executableURL = URL(fileURLWithPath: MPIFixtures.mpirun!)
        process.arguments = MPIFixtures.command(ranks: 2, ["train"] + Self.arguments(tokenizer: tokenizer, shard: shard, out: out,
                                                                                      steps: steps, batch: 2))
        let stderr = Fixtures.temporaryPath("mpi-kill-stderr.txt")
        FileManager.default.createFile(atPath: stderr, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderr))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let checkpoint = out + "/checkpoint.bin"
        let reached = TrainFixtures.wait(seconds: 120) { (TrainFixtures.checkpointStep(checkpoint) ?? 0) >= 10 || !process.isRunning }
        let rank1 = MPIFixtures.pid(ofRank: 1, writing: out)
        #expect(reached && process.isRunning && rank1 != nil, "the job should be running after its second checkpoint")
        if let rank1 { kill(rank1, SIGKILL) }
        // mpirun ends the job: no rank is left waiting for the dead one.
        let stopped = TrainFixtures.wait(seconds: 30) { !process.isRunning }
        if !stopped { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let messages = try String(contentsOfFile: stderr, encoding: .utf8)
        #expect(stopped && process.terminationStatus != 0, "\(messages)")
        #expect(messages.contains("process rank 1") && messages.contains("exited on signal 9"), "\(messages)")

        let saved = try TrainFixtures.checkpoint(checkpoint)
        #expect(saved.step >= 10 && saved.step < steps && saved.step % 5 == 0)
        // Rank 0 says which checkpoint is on disk (the one of its message, or one it finished writing after the signal).
        let said = messages.components(separatedBy: "train: mpirun is ending the job (a rank stopped, or the job was interrupted); "
                                                     + "\(checkpoint) holds step ").dropFirst().first
        let saidStep = said.flatMap { Int($0.prefix { $0.isNumber }) }
        #expect(said?.contains(" and is intact: continue with --resume") == true, "\(messages)")
        #expect(saidStep.map { $0 == saved.step || $0 == saved.step - 5 } == true, "\(messages)")
        let logged = try TrainFixtures.lossLog(out + "/loss.csv")
        #expect(!FileManager.default.fileExists(atPath: out + "/model.gguf"))

        // The checkpoint holds the whole batch of 4 per step: one process continues it with that batch.
        let resumed = try CommandLineTests.run(["train", "--resume"] + Self.arguments(tokenizer: tokenizer, shard: shard, out: out,
                                                                                      steps: steps, batch: 2))
        #expect(resumed.status == 0 && resumed.stderr.contains("resuming at step \(saved.step) of \(steps)"), "\(resumed.stderr)")
        #expect(try TrainFixtures.checkpoint(checkpoint).step == steps)
        let final = try TrainFixtures.lossLog(out + "/loss.csv")
        #expect(final.map(\.step) == Array(1...steps), "every step logged once")
        #expect(Array(final.prefix(saved.step)).map(\.loss) == Array(logged.prefix(saved.step)).map(\.loss))

        // …and the whole curve is that of one process with batch 4 from the start.
        let reference = Fixtures.temporaryPath("mpi-kill-reference")
        let straight = try CommandLineTests.run(["train"] + Self.arguments(tokenizer: tokenizer, shard: shard, out: reference,
                                                                           steps: steps, batch: 4))
        #expect(straight.status == 0, "\(straight.stderr)")
        let expected = try TrainFixtures.lossLog(reference + "/loss.csv")
        for (x, y) in zip(final.prefix(saved.step + 20), expected) {
            #expect(abs(x.loss - y.loss) <= 1e-4 * abs(y.loss), "step \(x.step): loss \(x.loss), one process \(y.loss)")
        }
    }

    @Test func aRankThatFailsAloneEndsTheJobWithItsMessage() throws {
        let (tokenizer, shard) = try TrainFixtures.corpus()
        let out = Fixtures.temporaryPath("mpi-one-fails")
        // Rank 1 is given a shard that does not exist while rank 0 starts training and waits for it.
        let good = Self.arguments(tokenizer: tokenizer, shard: shard, out: out, steps: 20, batch: 2)
        var bad = good
        bad[bad.firstIndex(of: "--data")! + 1] = out + "-missing.shard"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: MPIFixtures.mpirun!)
        process.arguments = MPIFixtures.command(ranks: 1, ["train"] + good) + [":", "-np", "1", CommandLineTests.binary, "train"] + bad
        let stderr = Fixtures.temporaryPath("mpi-one-fails-stderr.txt")
        FileManager.default.createFile(atPath: stderr, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderr))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stopped = TrainFixtures.wait(seconds: 60) { !process.isRunning }
        if !stopped { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let messages = try String(contentsOfFile: stderr, encoding: .utf8)
        #expect(stopped && process.terminationStatus != 0, "\(messages)")
        #expect(messages.contains("Error: rank 1 of 2: cannot use \(out)-missing.shard"), "\(messages)")
        #expect(!FileManager.default.fileExists(atPath: out + "/model.gguf"))
    }

    @Test func aBatchTheRanksCannotShareIsAClearError() throws {
        let (tokenizer, shard) = try TrainFixtures.corpus()
        let out = Fixtures.temporaryPath("mpi-odd")
        let first = try CommandLineTests.run(["train"] + Self.arguments(tokenizer: tokenizer, shard: shard, out: out, steps: 5, batch: 3))
        #expect(first.status == 0, "\(first.stderr)")
        let job = try MPIFixtures.run(ranks: 2, ["train", "--resume"] + Self.arguments(tokenizer: tokenizer, shard: shard, out: out,
                                                                                         steps: 10, batch: 3))
        #expect(job.status != 0)
        #expect(job.stderr.contains("Error: rank 0 of 2: the run's batch of 3 sequences per step cannot be split evenly over 2 ranks"),
                "\(job.stderr)")
        // Every rank finds the same fault; rank 0 alone reports it.
        #expect(!job.stderr.contains("Error: rank 1 of 2"), "\(job.stderr)")
    }
}
