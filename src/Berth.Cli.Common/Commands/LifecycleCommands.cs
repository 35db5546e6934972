using System.Text;
using Berth.Linux;
using Berth.Oci.Json;
using Berth.Runtime;
using Berth.Runtime.Lifecycle;

namespace Berth.Cli.Commands;

/// <summary>runc's lifecycle commands, flag for flag.</summary>
public static class LifecycleCommands
{
    static readonly Flag[] CreateFlags =
    {
        new("bundle", 'b', true), new("console-socket", null, true), new("pid-file", null, true),
        new("no-pivot"), new("no-new-keyring"), new("preserve-fds", null, true),
    };

    static readonly Flag[] RunFlags = CreateFlags.Concat(new Flag[] { new("detach", 'd'), new("keep") }).ToArray();

    static CreateOptions Options(Context ctx, CommandLine cl, string command) => new(cl.Id(command), cl.Value("bundle") ?? ".")
    {
        Rootless = ctx.Rootless,
        PidFile = cl.Value("pid-file"),
        NoPivot = cl.Has("no-pivot"),
        PreserveFds = cl.Int("preserve-fds", 0),
        NoNewKeyring = cl.Has("no-new-keyring"),
        ConsoleSocket = cl.Value("console-socket"),
    };

    public static int Create(Context ctx, IReadOnlyList<string> args)
    {
        var cl = CommandLine.Parse(args, CreateFlags);
        ctx.Containers.Create(Options(ctx, cl, "create"));
        return 0;
    }

    public static int Run(Context ctx, IReadOnlyList<string> args)
    {
        var cl = CommandLine.Parse(args, RunFlags);
        return ctx.Containers.Run(Options(ctx, cl, "run"), cl.Has("detach"), cl.Has("keep"));
    }

    static readonly Flag[] ExecFlags =
    {
        new("process", 'p', true), new("tty", 't'), new("console-socket", null, true), new("detach", 'd'),
        new("pid-file", null, true), new("cwd", null, true), new("env", 'e', true, Repeated: true),
        new("user", 'u', true), new("additional-gids", 'g', true, Repeated: true), new("cap", 'c', true, Repeated: true),
        new("no-new-privs"), new("apparmor", null, true), new("process-label", null, true),
        new("preserve-fds", null, true), new("ignore-paused"), new("cgroup", null, true, Repeated: true),
    };

    public static int Exec(Context ctx, IReadOnlyList<string> args)
    {
        var cl = CommandLine.Parse(args, ExecFlags);
        if (cl.Positional.Count == 0) throw new UsageException("exec: a container id is required");
        if (cl.Values("cgroup").Count > 0) throw new UsageException("exec: --cgroup is not supported: the process joins the container's own cgroups");
        var o = new ExecOptions(cl.Positional[0])
        {
            ProcessFile = cl.Value("process"),
            Args = cl.Positional.Skip(1).ToList(),
            Detach = cl.Has("detach"),
            PidFile = cl.Value("pid-file"),
            Cwd = cl.Value("cwd"),
            Env = cl.Values("env"),
            User = cl.Value("user"),
            AdditionalGids = cl.Values("additional-gids"),
            Caps = cl.Values("cap"),
            NoNewPrivs = cl.Has("no-new-privs"),
            Apparmor = cl.Value("apparmor"),
            ProcessLabel = cl.Value("process-label"),
            PreserveFds = cl.Int("preserve-fds", 0),
            Tty = cl.Has("tty"),
            ConsoleSocket = cl.Value("console-socket"),
        };
        if (o.ProcessFile is not null && o.Args.Count > 0) throw new UsageException("exec: give a command or --process, not both");
        return new ExecLauncher(ctx.Store, ctx.Log).Exec(o);
    }

    public static int Start(Context ctx, IReadOnlyList<string> args)
    {
        var cl = CommandLine.Parse(args, Array.Empty<Flag>());
        ctx.Containers.Start(cl.Id("start"));
        return 0;
    }

    public static int State(Context ctx, IReadOnlyList<string> args)
    {
        var cl = CommandLine.Parse(args, Array.Empty<Flag>());
        var state = ctx.Containers.State(cl.Id("state"));
        Output.WriteLine(JsonOut.Document(state, indent: "  "));
        return 0;
    }

    public static int Kill(Context ctx, IReadOnlyList<string> args)
    {
        var cl = CommandLine.Parse(args, new Flag[] { new("all", 'a') });
        if (cl.Positional.Count is 0 or > 2) throw new UsageException("kill: usage: berth kill [--all] ID [SIGNAL]");
        var signalText = cl.Positional.Count == 2 ? cl.Positional[1] : "SIGTERM";
        var signal = Signals.Parse(signalText) ?? throw new UsageException($"unknown signal \"{signalText}\"");
        ctx.Containers.Kill(cl.Positional[0], signal, cl.Has("all"));
        return 0;
    }

    public static int Delete(Context ctx, IReadOnlyList<string> args)
    {
        var cl = CommandLine.Parse(args, new Flag[] { new("force", 'f') });
        ctx.Containers.Delete(cl.Id("delete"), cl.Has("force"));
        return 0;
    }

    public static int List(Context ctx, IReadOnlyList<string> args)
    {
        var cl = CommandLine.Parse(args, new Flag[] { new("format", 'f', true), new("quiet", 'q') });
        var format = cl.Value("format") ?? "table";
        if (format is not ("table" or "json")) throw new UsageException($"list: --format: \"{format}\" is not table or json");
        var states = ctx.Containers.List();
        if (cl.Has("quiet"))
        {
            Output.Write(string.Concat(states.Select(s => s.Id + "\n")));
            return 0;
        }
        if (format == "json")
        {
            Output.WriteLine(JsonOut.Write(w =>
            {
                w.WriteStartArray();
                foreach (var st in states)
                {
                    w.WriteStartObject();
                    st.Write(w);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }));
            return 0;
        }
        var rows = new List<string[]> { new[] { "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER" } };
        rows.AddRange(states.Select(s => new[] { s.Id, s.Pid.ToString(), s.Status, s.Bundle, s.Created, s.Owner == "" ? "root" : s.Owner }));
        var widths = Enumerable.Range(0, 6).Select(c => rows.Max(r => r[c].Length) + 3).ToArray();
        var sb = new StringBuilder();
        foreach (var r in rows)
            sb.Append(string.Concat(r.Select((cell, c) => c == 5 ? cell : cell.PadRight(widths[c])))).Append('\n');
        Output.Write(sb.ToString());
        return 0;
    }
}
