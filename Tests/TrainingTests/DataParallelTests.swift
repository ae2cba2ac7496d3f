import Foundation
import Model
import TestFixtures
import Testing
@testable import Training

/// The single-process side of data parallelism: rank shares of a batch, joining a job from the
/// environment, and the exchange format of sampled teacher targets. The MPI runs themselves are in
/// Tests/EndToEndTests/TrainMPITests.swift.
@Suite struct DataParallelTests {
    @Test func ranksRowsPutTogetherAreTheWholeBatch() throws {
        let tokens = TrainerFixtures.syntheticTokens(count: 2_000, vocabulary: 32, seed: 4)
        let sampler = try TokenWindowSampler(tokens: tokens, seed: 7, sequence: 16)
        var writer = TokenShardWriter(vocabularySize: 32, endOfText: 0)
        for d in 0..<20 {
            try writer.append(text: Array(String(repeating: "x", count: 15).utf8), tokens: (0..<15).map { Int32(1 + ($0 * 3 + d) % 31) } + [0])
        }
        let path = Fixtures.temporaryDirectory() + "/train.shard"
        try writer.write(to: path)
        let loader = try WindowLoader(shards: [TokenShard(path: path)], tokenizer: nil, length: 17, seed: 3, fimRate: 0)
        for source in [sampler as any TrainingBatchSource, loader] {
            for step in [0, 5] {
                let whole = source.batch(step: step, batch: 6, sequence: 16)
                for ranks in [2, 3] {
                    let shares = (0..<ranks).map { r in source.batch(step: step, batch: 6, rows: (r * 6 / ranks)..<((r + 1) * 6 / ranks), sequence: 16) }
                    #expect(shares.flatMap(\.inputs) == whole.inputs && shares.flatMap(\.targets) == whole.targets)
                }
            }
        }
    }

    @Test func withoutMpirunTheProcessTrainsAlone() throws {
        let alone = try ProcessGroup.fromEnvironment([:])
        #expect(alone.size == 1 && alone.rank == 0 && alone.isRoot && alone.library.isEmpty)
        // mpirun -np 1 starts one rank: nothing to exchange, so MPI is not loaded.
        #expect(try ProcessGroup.fromEnvironment(["OMPI_COMM_WORLD_SIZE": "1"]).size == 1)
        // With one process the collectives hand back their input.
        #expect(try alone.sum([1.5, 2]) == [1.5, 2])
        #expect(try alone.any(true) && !(try alone.any(false)))
        #expect(try alone.broadcast([1, 2, 3]) == [1, 2, 3])
        #expect(try alone.gather([4, 5]) == [[4, 5]])
        #expect(try alone.scatter([[6]]) == [6])
    }

    @Test func aRankOfAnotherMPIIsRefusedRatherThanTrainingAlone() {
        #expect {
            try ProcessGroup.fromEnvironment(["PMI_SIZE": "4", "PMI_RANK": "2"])
        } throws: { error in
            "\(error)".contains("PMI_SIZE=4") && "\(error)".contains("start the job with Open MPI's mpirun")
        }
    }

    @Test func aBatchThatRanksCannotShareIsRefused() {
        #expect("\(ParallelError.batchNotDivisible(batch: 6, ranks: 4))"
            == "the run's batch of 6 sequences per step cannot be split evenly over 4 ranks; start it with a number of ranks that divides 6")
    }

    @Test func sampledTargetsSurviveTheExchangeBetweenRanks() throws {
        let positions: [[SampledToken]] = [[SampledToken(token: 3, count: 5), SampledToken(token: 70_000, count: 3)], [],
                                           [SampledToken(token: 0, count: 8)]]
        #expect(try TeacherTargetProvider.decode(TeacherTargetProvider.encode(positions[...])) == positions)
        #expect(try TeacherTargetProvider.decode(TeacherTargetProvider.encode(positions[1...])) == Array(positions[1...]))
    }
}
