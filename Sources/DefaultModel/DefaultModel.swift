import Foundation

/// The student model that ships inside the build (in this target's Resources directory, which SwiftPM
/// copies beside the binary; model card:
/// models/README.md). Every command that runs a model falls back to it when given none.
public enum DefaultModel {
    /// The resource's file name.
    public static let fileName = "understudy-default.gguf"

    /// The model file, or nil when neither the build's resource bundle nor the source tree holds it.
    ///
    /// Looked up by hand rather than with `Bundle.module`, whose accessor stops the process when the
    /// bundle is missing (e.g. a binary copied away from its build directory).
    public static var path: String? {
        candidates.first { FileManager.default.isReadableFile(atPath: $0) }
    }

    /// Where the file may be, most specific first.
    static var candidates: [String] {
        var directories: [URL] = []
        // SwiftPM copies resources into PACKAGE_TARGET.resources beside the executable (Linux) or into
        // PACKAGE_TARGET.bundle (macOS); an install may put the file itself beside the binary.
        let executable = URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0]).resolvingSymlinksInPath()
        let binDirectory = executable.deletingLastPathComponent()
        for bundle in ["Understudy_DefaultModel.resources", "Understudy_DefaultModel.bundle",
                       "Understudy_DefaultModel.bundle/Contents/Resources"] {
            directories.append(binDirectory.appendingPathComponent(bundle).appendingPathComponent("Resources"))
        }
        directories.append(binDirectory)
        directories.append(binDirectory.deletingLastPathComponent().appendingPathComponent("share/understudy"))
        // The checkout this binary was built from (the build directory may have been cleaned).
        directories.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources"))
        return directories.map { $0.appendingPathComponent(fileName).path }
    }

}
