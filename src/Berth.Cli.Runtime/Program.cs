using Berth.Cli;
using Berth.Runtime;

// A container's init is this binary started by the launcher, and never gets here: native/nsenter.c
// puts it in the container's namespaces and native/init.c runs the launcher's plan and execs.
if (args.Length > 0 && args[0] == "init")
{
    Log.Stderr("berth-runtime: init is started by `create`, `run` or `exec`, not by hand");
    return 2;
}

// `berth-runtime`: the OCI runtime alone, runc's command line — what docker, containerd, podman
// and conmon are given. It carries no image or registry code (a smaller binary starts faster and
// maps less), and hands every other command to the `berth` beside it.
return Cli.Dispatch(args, new Cli.Extension(
    "berth-runtime",
    (_, _, _) => Berth.Cli.Runtime.Sibling.Exec(args),
    "  image, …  the rest of berth: run by the berth beside this binary",
    _ => false));

namespace Berth.Cli.Runtime
{
    /// <summary>Commands this binary does not have are the full `berth`'s, next to it: exec'd with the same arguments.</summary>
    static class Sibling
    {
        public static int? Exec(string[] args)
        {
            var self = Berth.Linux.Files.ReadLinkAt(null, "/proc/self/exe") ?? "";
            var berth = Path.Combine(Path.GetDirectoryName(self) ?? "/", "berth");
            if (!File.Exists(berth)) return null;
            Berth.Linux.Processes.ExecReplace(berth, new[] { "berth" }.Concat(args).ToArray(), Berth.Linux.Processes.Environment());
            return null;
        }
    }
}
