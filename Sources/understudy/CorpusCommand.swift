import ArgumentParser
import Foundation
import Model
import Training

struct CorpusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "Build a training corpus (train/ and dev/ trees, manifest) and tokenize it into shards.",
        subcommands: [Build.self, Shard.self],
        defaultSubcommand: Build.self)

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Collect Swift and Python sources by the recipe of EVALUATION.md.",
            discussion: """
            Swift repositories are read at their highest version tag (HEAD without tags) with git, nothing \
            checked out. Files are de-duplicated by content; generated code and files over 200 KB are left \
            out; the held-out repositories and stdlib packages go to dev/. Progress goes to standard error.
            """)

        @Option(help: "A mirror of bare git repositories laid out as OWNER/NAME.git (e.g. /opt/swift-packages).")
        var swiftMirror: String?

        @Option(help: "The Python standard library directory, or 'auto' for python3's sysconfig stdlib.")
        var pythonStdlib: String?

        @Option(name: .customLong("dir"), help: "A directory of your own code to train on (repeatable).")
        var directories: [String] = []

        @Option(name: .shortAndLong, help: "The corpus directory to write (train/, dev/, manifest.json are replaced).")
        var output: String

        @Option(help: "After building, tokenize into shards with this tokenizer GGUF.")
        var tokenizer: String?

        func validate() throws {
            if swiftMirror == nil && pythonStdlib == nil && directories.isEmpty {
                throw ValidationError("give at least one of --swift-mirror, --python-stdlib, --dir")
            }
        }

        func run() throws {
            var builder = CorpusBuilder(output: output)
            if let swiftMirror {
                printError("reading tags of the repositories in \(swiftMirror)…")
                try builder.addSwiftMirror(swiftMirror)
            }
            if let pythonStdlib {
                let root = pythonStdlib == "auto" ? try Self.pythonStdlibPath() : pythonStdlib
                printError("python stdlib: \(root)")
                try builder.addPythonStdlib(root)
            }
            for directory in directories { try builder.addDirectory(directory) }
            let manifest = try builder.build { printError($0) }
            print(manifest.summary)
            if let tokenizer {
                try Shard.write(corpus: output, tokenizerPath: tokenizer, threads: defaultThreadCount)
            }
        }

        /// Asks python3 where its standard library is.
        static func pythonStdlibPath() throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"]
            let pipe = Pipe()
            process.standardOutput = pipe
            do { try process.run() } catch { throw CLIError("cannot run python3: \(error)") }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let path = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard process.terminationStatus == 0, !path.isEmpty else { throw CLIError("python3 did not report its stdlib path") }
            return path
        }
    }

    struct Shard: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tokenize a corpus directory into shards/<split>-<language>.shard (format: Sources/Training/Corpus/README.md).")

        @Option(help: "The corpus directory written by `understudy corpus build`.")
        var corpus: String

        @Option(help: "A GGUF file with the tokenizer (tokenizer-only or a model).")
        var tokenizer: String

        @Option(help: "Worker threads (default: all cores).")
        var threads: Int?

        func run() throws {
            try Self.write(corpus: corpus, tokenizerPath: tokenizer, threads: threads ?? defaultThreadCount)
        }

        static func write(corpus: String, tokenizerPath: String, threads: Int) throws {
            let sharder = CorpusSharder(tokenizer: try loadTokenizer(tokenizerPath), threads: threads)
            let results = try sharder.shard(corpus: corpus) { printError($0) }
            for r in results { print("\(r.path)\t\(r.documents) documents\t\(r.tokens) tokens\t\(r.bytes) bytes") }
        }
    }
}
