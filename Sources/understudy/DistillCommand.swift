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
        (the teacher cache lives with rank 0), as `train` does.
        """)

    @OptionGroup var training: TrainingArguments
    @Option(help: "The teacher GGUF (any llama model with the student's tokenizer).") var teacher: String
    @Option(help: "Weight of the KL term (0 = plain cross-entropy, 1 = teacher only).") var alpha: Float = 0.5
    @Option(help: "Softmax temperature of the KL term.") var temperature: Float = 2
    @Option(help: "Directory of sampled teacher targets to read and extend (implies sampled targets).") var teacherCache: String?
    @Option(help: "Tokens drawn per position from the teacher for sparse targets (default 32 with --teacher-cache; without it, full logits).")
    var teacherSamples: Int?
    @Option(help: "Threads of the teacher's forward pass (default: --threads).") var teacherThreads: Int?

    func run() throws {
        try TrainingRun.inProcessGroup { try run(group: $0) }
    }

    private func run(group: ProcessGroup) throws {
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
}
