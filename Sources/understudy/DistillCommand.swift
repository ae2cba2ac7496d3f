import ArgumentParser
import Foundation
import Model
import Training

struct Distill: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a student model from a teacher GGUF: loss α·T²·KL(teacher_T ‖ student_T) + (1−α)·CE.",
        discussion: """
        Takes every option of `understudy train` (the student's shape, data, schedule, output) plus the teacher. \
        The teacher is any llama GGUF, quantized or not, whose vocabulary equals --tokenizer's; it runs on each \
        step's batch before the student's step (both use the cores in turn). Without --teacher-cache the KL term \
        uses the teacher's full distribution. With --teacher-cache DIR it uses --teacher-samples tokens drawn per \
        position from the teacher's softened distribution (an unbiased estimate of it, unlike top-k), stored in DIR \
        by step, so that another run with the same data, batch, context, seed, temperature and teacher (e.g. another \
        student shape, learning rate or alpha) reads them instead of running the teacher (format: Sources/Training/Distillation/README.md). \
        Writes the same files as `train`; the checkpoint records the teacher's file name and size, alpha, \
        temperature and sample count, and --resume continues with those. Ctrl-C saves and exits 0. \
        Under `mpirun -np N` each rank runs the teacher and the student on its --batch rows of every step \
        (the teacher cache lives with rank 0), as `train` does. \
        With --teacher-pass DIR (a teacher without FIM, e.g. SmolLM2) the teacher does not run: its targets come \
        from `understudy teacher-pass` files, matched to the student's prefix and middle tokens by their place in \
        the text (suffix tokens get cross-entropy only), and only the documents the passes cover are trained on; \
        --teacher then gives the teacher's vocabulary, which --tokenizer's equals or was cut from (`tokenizer subset`). \
        --alpha 0 trains the control student on exactly the same windows.
        """)

    @OptionGroup var training: TrainingArguments
    @Option(help: "The teacher GGUF (any llama model with the student's tokenizer).") var teacher: String
    @Option(help: "Weight of the KL term (0 = plain cross-entropy, 1 = teacher only).") var alpha: Float = 0.5
    @Option(help: "Softmax temperature of the KL term.") var temperature: Float = 2
    @Option(help: "Directory of sampled teacher targets to read and extend (implies sampled targets).") var teacherCache: String?
    @Option(help: "Tokens drawn per position from the teacher for sparse targets (default 32 with --teacher-cache; without it, full logits).")
    var teacherSamples: Int?
    @Option(help: "Threads of the teacher's forward pass (default: --threads).") var teacherThreads: Int?
    @Option(help: ArgumentHelp("A directory written by `understudy teacher-pass` (repeatable): the teacher's file-order targets, for a teacher without FIM.",
                               discussion: "Each pass is matched to the --data shard whose text it read; only the documents the passes cover are trained on."))
    var teacherPass: [String] = []

    @Flag(inversion: .prefixedNo, help: "With --teacher-pass: distil the prefix and middle of FIM examples too (default); --no-teacher-pass-fim gives teacher targets only where the student has read nothing of the document beyond the position, as the teacher had (plain windows).")
    var teacherPassFim = true

    @Flag(inversion: .prefixedNo, help: "With --teacher-pass: distil the middle of FIM examples too (default); --no-teacher-pass-fim-middle keeps teacher targets on their prefix and on plain windows and gives the middle (what a completion writes, where the teacher has not read the suffix the student has) cross-entropy only.")
    var teacherPassFimMiddle = true

    @Flag(help: "With --teacher-pass: train on every document of --data, those the passes do not cover with cross-entropy only (default: only the covered documents). `understudy train` on the same --data, seed and schedule then reads the very same windows: the control.")
    var allDocuments = false

    func run() throws {
        try TrainingRun.inProcessGroup { try run(group: $0) }
    }

    /// The student's `<fim_suffix>` and end-of-text ids under --no-teacher-pass-fim, else nil.
    private func suffixMarkers(_ vocabulary: TokenizerMetadata) throws -> (suffix: Int32, end: Int32)? {
        guard !teacherPassFim else { return nil }
        guard let suffix = vocabulary.specials.fimSuffix, let end = vocabulary.specials.endOfText else {
            throw CLIError("--no-teacher-pass-fim needs a student vocabulary with <fim_suffix> and end-of-text tokens")
        }
        return (suffix, end)
    }

    private func run(group: ProcessGroup) throws {
        if !teacherPass.isEmpty { return try runFromPasses(group: group) }
        guard teacherPassFim && teacherPassFimMiddle && !allDocuments else {
            throw CLIError("--no-teacher-pass-fim, --no-teacher-pass-fim-middle and --all-documents choose among the targets and "
                           + "documents of --teacher-pass; give one")
        }
        let run = try TrainingRun(arguments: training, command: "distill", group: group)
        let model: Teacher
        do {
            model = try Teacher(path: teacher, studentVocabulary: run.vocabulary, sequence: training.context,
                                threads: teacherThreads ?? training.threads)
        } catch {
            throw CLIError("\(error)")
        }
        let wanted = DistillationRecord(alpha: alpha, temperature: temperature, teacherFile: model.fileName,
                                        teacherBytes: model.fileBytes,
                                        teacherSamples: teacherSamples ?? (teacherCache == nil ? nil : 32))
        do { try wanted.validate() } catch { throw CLIError("\(error)") }
        let (trainer, log) = try run.makeTrainer(distillation: wanted)
        let record = trainer.options.distillation!
        if training.resume {
            guard record.teacherFile == wanted.teacherFile && record.teacherBytes == wanted.teacherBytes else {
                throw CLIError("the checkpoint was distilled from \(record.teacherFile) (\(record.teacherBytes) bytes), "
                               + "--teacher is \(wanted.teacherFile) (\(wanted.teacherBytes) bytes)")
            }
            if record != wanted {
                run.say("continuing with the checkpoint's settings: alpha \(record.alpha), temperature \(record.temperature), "
                           + (record.teacherSamples.map { "\($0) teacher samples" } ?? "full teacher logits"))
            }
        }
        let targets: TeacherTargetProvider
        do {
            targets = try TeacherTargetProvider(teacher: model, record: record, seed: trainer.options.seed,
                                                batch: trainer.options.batch, sequence: trainer.options.sequence,
                                                cacheDirectory: teacherCache, group: group)
        } catch {
            throw CLIError("\(error)")
        }
        run.say("teacher \(model.fileName): \(model.model.config), \(model.model.weightTypeLabel); alpha \(record.alpha), "
                   + "temperature \(record.temperature), "
                   + (record.teacherSamples.map { "\($0) samples per position" } ?? "full logits")
                   + (teacherCache.map { ", cache \($0)" } ?? ""))
        try run.loop(trainer, log: log, step: { try trainer.trainStep(distillingFrom: targets) }, willSave: { try targets.flush() })
        run.say(String(format: "teacher: ran for %d steps (%.1f s), the cache answered %d", targets.teacherRuns,
                          targets.teacherSeconds, targets.cacheHits))
    }

    /// Distillation from stored file-order teacher passes: the teacher's GGUF gives only its vocabulary.
    private func runFromPasses(group: ProcessGroup) throws {
        guard teacherCache == nil, teacherSamples == nil else {
            throw CLIError("--teacher-pass brings its own samples: drop --teacher-cache and --teacher-samples")
        }
        let teacherVocabulary: TokenizerMetadata, teacherTokenizer: BPETokenizer
        do {
            teacherVocabulary = try TokenizerMetadata(gguf: GGUFFile(path: teacher))
            teacherTokenizer = try teacherVocabulary.makeTokenizer()
        } catch {
            throw CLIError("cannot read the teacher's vocabulary from \(teacher): \(error)")
        }
        let fingerprint: UInt64
        do { fingerprint = try TeacherCache.fingerprint(path: teacher) } catch { throw CLIError("\(error)") }
        var passes: [TeacherPass?] = []
        let run = try TrainingRun(arguments: training, command: "distill", group: group) { shards in
            passes = try shards.map { shard in
                for directory in teacherPass {
                    do {
                        if let pass = try TeacherPass.open(directory: directory, shard: shard) { return pass }
                    } catch {
                        throw CLIError("--teacher-pass \(directory): \(error)")
                    }
                }
                return nil
            }
            for directory in teacherPass where !passes.contains(where: { $0?.directory == directory }) {
                throw CLIError("--teacher-pass \(directory) holds no part computed over the text of any --data shard")
            }
            for pass in passes.compactMap({ $0 }) where pass.teacherFingerprint != fingerprint {
                throw CLIError("--teacher-pass \(pass.directory) was computed by another teacher than \(teacher)")
            }
            if allDocuments { return shards.map { Array(0..<$0.documentCount) } }
            return try passes.map { pass in try pass?.coveredDocuments() ?? [] }
        }
        let studentToTeacher = try Self.teacherIDs(student: run.vocabulary, teacher: teacherVocabulary,
                                                   teacherTokenizer: teacherTokenizer, teacherName: teacher)
        let targets: TeacherPassTargets
        do {
            targets = try TeacherPassTargets(passes: passes, teacherTokenBytes: teacherTokenizer.tokenBytes,
                                             teacherVocabularySize: teacherVocabulary.tokens.count, studentToTeacher: studentToTeacher,
                                             suffixMarkers: try suffixMarkers(run.vocabulary), middleTargets: teacherPassFimMiddle)
        } catch {
            throw CLIError("\(error)")
        }
        let size = ((try? FileManager.default.attributesOfItem(atPath: teacher))?[.size] as? NSNumber)?.intValue ?? 0
        let wanted = DistillationRecord(alpha: alpha, temperature: targets.temperature, teacherFile: (teacher as NSString).lastPathComponent,
                                        teacherBytes: size, teacherSamples: targets.samples, teacherTargetsInFIM: teacherPassFim,
                                        teacherTargetsInMiddle: teacherPassFimMiddle, allDocuments: allDocuments)
        do { try wanted.validate() } catch { throw CLIError("\(error)") }
        let (trainer, log) = try run.makeTrainer(distillation: wanted)
        let record = trainer.options.distillation!
        guard record == wanted else {
            let fim = { (r: DistillationRecord) in
                (!r.teacherTargetsInFIM ? ", --no-teacher-pass-fim" : r.teacherTargetsInMiddle ? "" : ", --no-teacher-pass-fim-middle")
                    + (r.allDocuments ? ", --all-documents" : "")
            }
            throw CLIError("the checkpoint was distilled with alpha \(record.alpha), temperature \(record.temperature), "
                           + "\(record.teacherSamples.map(String.init) ?? "full") samples from \(record.teacherFile)\(fim(record)); these passes "
                           + "and flags give alpha \(wanted.alpha), temperature \(wanted.temperature), \(targets.samples) samples from "
                           + "\(wanted.teacherFile)\(fim(wanted))")
        }
        run.say("teacher passes: \(passes.compactMap { $0?.directory }.joined(separator: ", ")), \(formatCount(targets.coveredPositions)) "
                + "positions of \(targets.coveredDocuments.reduce(0) { $0 + $1.count }) documents; alpha \(record.alpha), "
                + "temperature \(record.temperature) (the passes'), \(record.teacherSamples!) samples per position"
                + (record.allDocuments ? "; training on every document (\(formatCount(run.training.totalTokens)) tokens), "
                   + "the uncovered ones with cross-entropy only" : ""))
        var matched = 0, positions = 0
        try run.loop(trainer, log: log, step: {
            try trainer.trainStep(settings: record.settings) { step, rows, inputs in
                var all: [[TeacherProbability]] = []
                for b in rows {
                    let window = run.training.annotatedWindow(at: step * trainer.options.batch + b)
                    all += targets.targets(tokens: window.tokens, sources: window.sources, sequence: trainer.options.sequence)
                }
                guard all.count == inputs.count else { throw CLIError("internal: \(all.count) teacher rows for \(inputs.count) inputs") }
                matched += all.reduce(0) { $0 + ($1.isEmpty ? 0 : 1) }
                positions += all.count
                return .sparse(all)
            }
        })
        run.say(String(format: "teacher targets at %.1f%% of the positions trained on (the rest: suffixes, markers, "
                       + "cuts the two tokenizers make differently)", 100 * Double(matched) / Double(max(1, positions))))
    }

    /// Student token id → teacher token id (-1: none): the map a drafting student uses too (`DraftVocabulary`),
    /// from the ids a cut vocabulary records (checked token by token against the teacher's), else the
    /// identity when the two vocabularies and their merges are equal.
    static func teacherIDs(student: TokenizerMetadata, teacher: TokenizerMetadata, teacherTokenizer: BPETokenizer,
                           teacherName: String) throws -> [Int32] {
        do {
            let studentTokenizer = try student.makeTokenizer()
            if student.teacherTokenIDs == nil {
                try Teacher.checkVocabulary(teacher: teacher, student: student, teacherName: teacherName)
            }
            return try DraftVocabulary(draft: studentTokenizer, teacherIDs: student.teacherTokenIDs,
                                       teacherVocabularySize: student.teacherVocabularySize, teacher: teacherTokenizer,
                                       draftName: "the student's vocabulary", teacherName: teacherName).teacherIDsOfDraftTokens
        } catch let error as SpeculativeError {
            throw CLIError("the student's vocabulary does not fit the teacher \(teacherName): \(error.detail)")
        } catch {
            throw CLIError("\(error)")
        }
    }
}
