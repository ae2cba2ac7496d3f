/// How a run is distilled, stored in its checkpoint (inside `TrainingOptions`) so that a resumed run
/// uses the same teacher and loss, and so a checkpoint says what it is.
public struct DistillationRecord: Codable, Sendable, Equatable {
    /// Weight of the KL term; 1 − alpha weighs cross-entropy on the data.
    public var alpha: Float
    /// Softmax temperature of teacher and student in the KL term.
    public var temperature: Float
    /// The teacher GGUF's file name (without directory) and size, to recognise it on resume.
    public var teacherFile: String
    public var teacherBytes: Int
    /// Tokens sampled per position from the teacher (sparse targets), or nil for the full teacher logits.
    public var teacherSamples: Int?
    /// With file-order teacher passes: whether the prefix and middle of FIM examples get teacher targets
    /// too (`distill --no-teacher-pass-fim` sets false). Checkpoints written before the flag existed
    /// decode as true, the behaviour they were trained with.
    public var teacherTargetsInFIM: Bool
    /// With file-order teacher passes: whether the middle of FIM examples gets teacher targets
    /// (`distill --no-teacher-pass-fim-middle` sets false; false too without FIM targets at all).
    /// Checkpoints written before the flag existed decode as `teacherTargetsInFIM`.
    public var teacherTargetsInMiddle: Bool
    /// With file-order teacher passes: whether the run trains on every document, the uncovered ones with
    /// cross-entropy only (`distill --all-documents`), rather than on the covered ones alone.
    public var allDocuments: Bool

    public init(alpha: Float, temperature: Float, teacherFile: String, teacherBytes: Int, teacherSamples: Int?,
                teacherTargetsInFIM: Bool = true, teacherTargetsInMiddle: Bool = true, allDocuments: Bool = false) {
        self.alpha = alpha
        self.temperature = temperature
        self.teacherFile = teacherFile
        self.teacherBytes = teacherBytes
        self.teacherSamples = teacherSamples
        self.teacherTargetsInFIM = teacherTargetsInFIM
        self.teacherTargetsInMiddle = teacherTargetsInFIM && teacherTargetsInMiddle
        self.allDocuments = allDocuments
    }

    private enum CodingKeys: String, CodingKey {
        case alpha, temperature, teacherFile, teacherBytes, teacherSamples, teacherTargetsInFIM, teacherTargetsInMiddle, allDocuments
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        alpha = try container.decode(Float.self, forKey: .alpha)
        temperature = try container.decode(Float.self, forKey: .temperature)
        teacherFile = try container.decode(String.self, forKey: .teacherFile)
        teacherBytes = try container.decode(Int.self, forKey: .teacherBytes)
        teacherSamples = try container.decodeIfPresent(Int.self, forKey: .teacherSamples)
        teacherTargetsInFIM = try container.decodeIfPresent(Bool.self, forKey: .teacherTargetsInFIM) ?? true
        teacherTargetsInMiddle = try container.decodeIfPresent(Bool.self, forKey: .teacherTargetsInMiddle) ?? teacherTargetsInFIM
        allDocuments = try container.decodeIfPresent(Bool.self, forKey: .allDocuments) ?? false
    }

    /// The loss weights for `LlamaTrainingModel.forward(inputs:targets:teacher:settings:)`.
    public var settings: DistillationSettings { DistillationSettings(alpha: alpha, temperature: temperature) }

    /// Checks the ranges: alpha in [0, 1], temperature > 0, at least one sample.
    public func validate() throws {
        guard alpha >= 0 && alpha <= 1 else { throw DistillationError.invalidSettings("alpha \(alpha) must lie in [0, 1]") }
        guard temperature > 0 && temperature.isFinite else {
            throw DistillationError.invalidSettings("temperature \(temperature) must be positive")
        }
        if let teacherSamples, teacherSamples < 1 || teacherSamples > Int(UInt16.max) {
            throw DistillationError.invalidSettings("teacher samples \(teacherSamples) must lie in 1...\(UInt16.max)")
        }
    }
}
