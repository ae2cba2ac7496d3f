/// What can go wrong when distilling: an incompatible teacher, or a teacher cache that does not fit the run.
public enum DistillationError: Error, CustomStringConvertible {
    /// The teacher's vocabulary differs from the student's tokenizer.
    case vocabularyMismatch(teacher: String, detail: String)
    /// The teacher cannot serve this run (context too short, unreadable file, …).
    case teacherUnusable(path: String, reason: String)
    /// A cache file is damaged or not one of ours.
    case cacheFormat(path: String, offset: Int, expected: String, found: String)
    /// A cache file was written by a run with other settings (teacher, temperature, batch shape, …).
    case cacheMismatch(path: String, field: String, expected: String, found: String)
    /// The batch stored for a step was computed from other input tokens than this run's batch.
    case cacheInputsDiffer(path: String, step: Int)
    /// Invalid distillation settings.
    case invalidSettings(String)

    public var description: String {
        switch self {
        case .vocabularyMismatch(let teacher, let detail):
            return "the teacher \(teacher) does not share the student's tokenizer: \(detail)"
        case .teacherUnusable(let path, let reason):
            return "cannot use the teacher \(path): \(reason)"
        case .cacheFormat(let path, let offset, let expected, let found):
            return "\(path): bad teacher cache file at byte \(offset): expected \(expected), found \(found)"
        case .cacheMismatch(let path, let field, let expected, let found):
            return "\(path): the teacher cache was written with \(field) \(found) but this run uses \(expected); "
                + "use another --teacher-cache directory"
        case .cacheInputsDiffer(let path, let step):
            return "\(path): the cached teacher targets of step \(step) were computed from other input tokens "
                + "(different data, seed or FIM settings); use another --teacher-cache directory"
        case .invalidSettings(let why):
            return "invalid distillation settings: \(why)"
        }
    }
}
