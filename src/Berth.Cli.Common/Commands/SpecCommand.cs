using Berth.Linux;
using Berth.Oci.Json;
using Berth.Oci.Runtime;
using Berth.Runtime;

namespace Berth.Cli.Commands;

/// <summary>`berth spec`: the config.json `runc spec` writes, tab-indented like runc's.</summary>
public static class SpecCommand
{
    public static int Run(IReadOnlyList<string> args)
    {
        var cl = CommandLine.Parse(args, new Flag[] { new("bundle", 'b', true), new("rootless"), new("hardened") });
        if (cl.Positional.Count > 0) throw new UsageException($"spec: unexpected arguments: {string.Join(' ', cl.Positional)}");
        var bundle = cl.Value("bundle") ?? ".";
        var path = Path.Combine(bundle, "config.json");
        if (File.Exists(path)) throw new RuntimeException($"spec: {path} exists; remove it first");
        var spec = cl.Has("hardened")
            ? DefaultSpec.Hardened(System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "aarch64" : "x86_64")
            : DefaultSpec.Create();
        if (cl.Has("rootless")) DefaultSpec.ToRootless(spec, Processes.EffectiveUid, Processes.EffectiveGid);
        File.WriteAllBytes(path, JsonOut.Document(spec, indent: "\t"));
        return 0;
    }
}
