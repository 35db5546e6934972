using Berth.Cli.Commands;
using Berth.Linux;
using Berth.Oci;
using Berth.Runtime;

namespace Berth.Cli
{
    /// <summary>
    /// Global flags (runc's), then one command. The runtime's commands are here; an executable
    /// adds its own (berth: images) through <see cref="Extension"/>.
    /// </summary>
    public static class Cli
    {
        /// <summary>What an executable adds: its name, more commands, their usage lines, and which of its exceptions are the user's errors (one line) rather than bugs.</summary>
        /// <remarks>
        /// An extension's commands are looked up before the runtime's: `berth` (the engine's face)
        /// takes over the colliding verbs (run, create, start, exec, kill, ps, …) and reaches the
        /// runtime's as `berth runtime COMMAND …` (when <paramref name="TakesOverRuntimeVerbs"/>).
        /// <paramref name="GlobalFlags"/> are more global flags (berth: --store).
        /// </remarks>
        public sealed record Extension(string Name, Func<string, IReadOnlyList<string>, Context, int?> Commands, string UsageLines, Func<Exception, bool> IsUserError,
            IReadOnlyList<Flag>? GlobalFlags = null, string? UsageText = null, bool TakesOverRuntimeVerbs = false);
        static readonly Flag[] GlobalFlags =
        {
            new("root", null, true), new("log", null, true), new("log-format", null, true),
            new("debug"), new("version", 'v'), new("help", 'h'), new("systemd-cgroup"),
            new("rootless", null, true), new("criu", null, true),
        };

        public static int Dispatch(string[] args, Extension ext)
        {
            Log log = Log.Quiet;
            string? command = null;
            try
            {
                var global = CommandLine.Parse(args, ext.GlobalFlags is null ? GlobalFlags : GlobalFlags.Concat(ext.GlobalFlags).ToArray());
                if (global.Has("version"))
                {
                    Output.Write(VersionText(ext.Name));
                    return 0;
                }
                if (global.Has("help") || global.Positional.Count == 0)
                {
                    Output.Write(Usage(ext));
                    return global.Positional.Count == 0 && !global.Has("help") ? 1 : 0;
                }
                var format = global.Value("log-format") ?? "text";
                if (format is not ("text" or "json")) throw new UsageException($"--log-format: \"{format}\" is not text or json");
                log = new Log(global.Value("log"), format == "json", global.Has("debug"));
                var ctx = new Context(global.Value("root") ?? Runtime.Store.StateStore.DefaultRoot(), log, global.Value("rootless")) { Global = global };

                command = global.Positional[0];
                var rest = global.Positional.Skip(1).ToList();
                // go-runc passes it to every container command; cgroupfs is the only driver here.
                if (global.Has("systemd-cgroup") && command is not ("spec" or "features" or "image"))
                    throw new RuntimeException("--systemd-cgroup: this host has no systemd; use the cgroupfs driver (the default)");
                if (ext.TakesOverRuntimeVerbs && ext.Commands(command, rest, ctx) is { } handled) return handled;
                if (command == "runtime" && ext.TakesOverRuntimeVerbs)
                {
                    if (rest.Count == 0) throw new UsageException($"runtime: usage: {ext.Name} runtime COMMAND [options] (the OCI runtime's commands, as berth-runtime has them)");
                    // runc's global flags may come after `runtime` too: `berth runtime --root R list`.
                    var inner = CommandLine.Parse(rest, GlobalFlags);
                    if (inner.Positional.Count == 0) throw new UsageException("runtime: a command is required");
                    if (inner.Value("root") is { } innerRoot) ctx = ctx with { Root = innerRoot };
                    command = inner.Positional[0];
                    rest = inner.Positional.Skip(1).ToList();
                }
                return RuntimeCommand(command, rest, ctx, ext);
            }
            catch (LinuxException e)
            {
                // A system call's failure carries its operation and path, not what Berth was
                // doing: the command says that ("spec: writing /b/config.json: EROFS …").
                log.Error((command is null ? e.Message : $"{command}: {e.Message}").ReplaceLineEndings(" "));
                return 1;
            }
            catch (Exception e) when (e is RuntimeException or SpecException or UsageException || ext.IsUserError(e))
            {
                log.Error(e.Message.ReplaceLineEndings(" "));
                return 1;
            }
            catch (Exception e)
            {
                // A bug, not bad input: still one line, and named as what it is. A .NET
                // IOException lands here too: Berth's file helpers (Berth.Linux.FileSystem)
                // throw LinuxException with the operation and the path, and nothing else should
                // touch the disk.
                log.Error($"internal error: {e.GetType().Name}: {e.Message}".ReplaceLineEndings(" "));
                return 1;
            }
            finally
            {
                log.Dispose();
            }
        }

        /// <summary>The OCI runtime's commands (runc's), the face `berth-runtime` shows and `berth runtime` reaches.</summary>
        static int RuntimeCommand(string command, List<string> rest, Context ctx, Extension ext)
        {
                return command switch
                {
                    "create" => LifecycleCommands.Create(ctx, rest),
                    "start" => LifecycleCommands.Start(ctx, rest),
                    "run" => LifecycleCommands.Run(ctx, rest),
                    "state" => LifecycleCommands.State(ctx, rest),
                    "kill" => LifecycleCommands.Kill(ctx, rest),
                    "delete" => LifecycleCommands.Delete(ctx, rest),
                    "exec" => LifecycleCommands.Exec(ctx, rest),
                    "pause" => CgroupCommands.Pause(ctx, rest),
                    "resume" => CgroupCommands.Resume(ctx, rest),
                    "ps" => CgroupCommands.Ps(ctx, rest),
                    "events" => CgroupCommands.Events(ctx, rest),
                    "update" => CgroupCommands.Update(ctx, rest),
                    "list" => LifecycleCommands.List(ctx, rest),
                    "spec" => SpecCommand.Run(rest),
                    "features" => FeaturesCommand.Run(rest),
                    _ => (ext.TakesOverRuntimeVerbs ? null : ext.Commands(command, rest, ctx)) ?? throw new UsageException($"unknown command \"{command}\" (see {ext.Name} --help)"),
                };
        }

        /// <summary>runc's --version layout: tools parse the first line and "spec:".</summary>
        static string VersionText(string name)
        {
            var info = typeof(Cli).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "0.0.0";
            var parts = info.Split('+', 2);
            return $"{name} version {parts[0]}\ncommit: {(parts.Length > 1 ? parts[1] : "unknown")}\nspec: {Oci.Runtime.SpecVersion.Current}\n" +
                   $"dotnet: {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}\n";
        }

        static string Usage(Extension ext) => ext.UsageText ?? RuntimeUsage(ext);

        static string RuntimeUsage(Extension ext) => $"""
            {ext.Name}: an OCI container runtime

            Usage: {ext.Name} [global options] COMMAND [options] [arguments]

            Commands:
              create   create a container from a bundle; it waits for `start`
              start    run the user process of a created container
              run      create and start a container
              state    print a container's state as JSON
              exec     run a new process in a running container
              kill     send a signal to a container's init (or --all processes)
              delete   remove a container and its resources
              list     list containers
              pause    freeze every process of a container
              resume   thaw a paused container
              ps       list a container's processes (--format table|json)
              events   stream a container's stats and OOM events (--stats for one)
              update   change a running container's cgroup limits
              spec     write a default config.json (--rootless, --hardened)
              features what this runtime supports, as JSON
            {ext.UsageLines}

            Global options:
              --root DIR          state directory (default /run/berth; $XDG_RUNTIME_DIR/berth when rootless)
              --rootless MODE     auto (default: rootless when not root or in a user namespace), true or false
              --log FILE          log file
              --log-format FMT    text or json
              --debug             debug logging
              --version, -v       print the version

            """;
    }

    /// <summary>What every command gets from the global flags.</summary>
    public sealed record Context(string Root, Log Log, string? RootlessFlag = null)
    {
        /// <summary>The global flags as parsed (an extension's own among them).</summary>
        public CommandLine? Global { get; init; }

        /// <summary>--rootless auto|true|false, resolved when a command asks.</summary>
        public bool Rootless => Runtime.Lifecycle.Rootless.Resolve(RootlessFlag);
        public Runtime.Store.StateStore Store => new(Root);
        public Runtime.Lifecycle.Containers Containers => new(Store, Log);
    }
}
