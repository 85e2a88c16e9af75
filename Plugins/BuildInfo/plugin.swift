import Foundation
import PackagePlugin

/// Generates BuildInfo.swift for the executable before every build: the version from the
/// package's VERSION file (the one place it is defined) and the git commit of the checkout
/// ("unknown" outside a git work tree, e.g. a source tarball). A prebuild command runs on
/// every build; the script rewrites the file only when its content changes, so an
/// unchanged commit recompiles nothing.
@main
struct BuildInfo: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        return [.prebuildCommand(
            displayName: "Generating BuildInfo.swift (VERSION, git commit)",
            executable: URL(fileURLWithPath: "/bin/sh"),
            arguments: [root.appending(path: "Plugins/BuildInfo/build-info.sh").path, root.path,
                        output.appending(path: "BuildInfo.swift").path],
            outputFilesDirectory: output)]
    }
}
