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
        var spec = cl.Has("hardened")
            ? DefaultSpec.Hardened(System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "aarch64" : "x86_64")
            : DefaultSpec.Create();
        if (cl.Has("rootless")) DefaultSpec.ToRootless(spec, Processes.EffectiveUid, Processes.EffectiveGid);
        try
        {
            // 0666 less the umask, as runc; never over (or through a link at) an existing file.
            FileSystem.WriteNew(path, JsonOut.Document(spec, indent: "\t"), 0x1b6);
        }
        catch (LinuxException e) when (e.Errno == Errno.EEXIST)
        {
            throw new RuntimeException($"spec: {path} exists; remove it first");
        }
        return 0;
    }
}
