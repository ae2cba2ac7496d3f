import Kernels

/// Why a model file could not be used.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case missingMetadata(String)
    case badMetadata(String, String)
    case unsupportedArchitecture(String)
    case invalidConfig(String)
    case missingTensor(String)
    case tensorShape(name: String, expected: [Int], found: [Int])
    case tensorType(name: String, found: GGMLType, allowed: [GGMLType])
    case tensorData(name: String, reason: String)
    case tokenizer(String)
    case contextFull(needed: Int, available: Int)
    case invalidToken(Int32, vocabularySize: Int)

    public var description: String {
        switch self {
        case .missingMetadata(let key): return "model file has no metadata key '\(key)'"
        case .badMetadata(let key, let why): return "metadata key '\(key)': \(why)"
        case .unsupportedArchitecture(let a): return "architecture '\(a)' is not supported (supported: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .invalidConfig(let why): return "invalid model shape: \(why)"
        case .missingTensor(let name): return "model file has no tensor '\(name)'"
        case .tensorShape(let name, let expected, let found):
            return "tensor '\(name)' has shape \(found), expected \(expected)"
        case .tensorType(let name, let found, let allowed):
            return "tensor '\(name)' has type \(found), expected one of \(allowed.map(\.description).joined(separator: ", "))"
        case .tensorData(let name, let reason): return "tensor '\(name)': \(reason)"
        case .tokenizer(let why): return "tokenizer: \(why)"
        case .contextFull(let needed, let available):
            return "the prompt needs \(needed) positions but the context holds \(available)"
        case .invalidToken(let id, let n): return "token id \(id) is outside the vocabulary (size \(n))"
        }
    }
}
