import ArgumentParser

@main
struct Understudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "understudy",
        abstract: "An offline code assistant: a small distilled model served as a language server.",
        version: "0.1.0",
        subcommands: [
            Serve.self, Complete.self, Info.self, Bench.self, CorpusCommand.self, TokenizerCommand.self, Train.self, Distill.self, TeacherPassCommand.self, Eval.self,
            InitModel.self, Quantize.self, Export.self, DumpLogits.self, BenchKernels.self, BenchLSP.self,
        ])
}
