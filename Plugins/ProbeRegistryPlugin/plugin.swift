import Foundation
import PackagePlugin

/// Generates the `sonde` executable's list of compiled-in probes from its dependencies: every direct
/// dependency whose name ends in `Probe` is a probe module declaring `<Module>Registration`. Adding a probe
/// is adding its module to the executable's dependencies; there is no hand-kept list to forget.
@main
struct ProbeRegistryPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let modules = target.dependencies.compactMap { dependency -> String? in
            guard case .target(let module) = dependency, module.name.hasSuffix("Probe") else { return nil }
            return module.name
        }.sorted()
        let output = context.pluginWorkDirectoryURL.appending(path: "GeneratedProbeModules.swift")
        return [
            .buildCommand(
                displayName: "Generating the probe registry of \(target.name): \(modules.joined(separator: ", "))",
                executable: try context.tool(named: "ProbeRegistryGenerator").url,
                arguments: [output.path] + modules,
                inputFiles: [],
                outputFiles: [output]
            )
        ]
    }
}
