using Berth.Cli;
using Berth.Cli.Commands;
using Berth.Linux;
using Berth.Oci;
using Berth.Runtime;
using Berth.Runtime.Init;

// A container's init is this binary started by the launcher, and never gets here: native/nsenter.c
// puts it in the container's namespaces and native/init.c runs the launcher's plan and execs.
if (args.Length > 0 && args[0] == "init")
{
    Log.Stderr("berth: init is started by `berth create`, `run` or `exec`, not by hand");
    return 2;
}

return Cli.Dispatch(args);

namespace Berth.Cli
{
    /// <summary>Global flags (runc's), then one command.</summary>
    public static class Cli
    {
        static readonly Flag[] GlobalFlags =
        {
            new("root", null, true), new("log", null, true), new("log-format", null, true),
            new("debug"), new("version", 'v'), new("help", 'h'), new("systemd-cgroup"),
            new("rootless", null, true), new("criu", null, true),
        };

        public static int Dispatch(string[] args)
        {
            Log log = Log.Quiet;
            try
            {
                var global = CommandLine.Parse(args, GlobalFlags);
                if (global.Has("version"))
                {
                    Output.Write(VersionText());
                    return 0;
                }
                if (global.Has("help") || global.Positional.Count == 0)
                {
                    Output.Write(Usage);
                    return global.Positional.Count == 0 && !global.Has("help") ? 1 : 0;
                }
                var format = global.Value("log-format") ?? "text";
                if (format is not ("text" or "json")) throw new UsageException($"--log-format: \"{format}\" is not text or json");
                log = new Log(global.Value("log"), format == "json", global.Has("debug"));
                var ctx = new Context(global.Value("root") ?? Runtime.Store.StateStore.DefaultRoot(), log, global.Value("rootless"));

                var command = global.Positional[0];
                var rest = global.Positional.Skip(1).ToList();
                // go-runc passes it to every container command; cgroupfs is the only driver here.
                if (global.Has("systemd-cgroup") && command is not ("spec" or "features" or "image"))
                    throw new RuntimeException("--systemd-cgroup: this host has no systemd; use the cgroupfs driver (the default)");
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
                    "image" => ImageCommands.Run(rest),
                    "login" => LoginCommands.Login(rest),
                    "logout" => LoginCommands.Logout(rest),
                    _ => throw new UsageException($"unknown command \"{command}\" (see berth --help)"),
                };
            }
            catch (Exception e) when (e is RuntimeException or LinuxException or SpecException or UsageException or Images.ImageException
                                          or IOException or UnauthorizedAccessException)
            {
                log.Error(e.Message.ReplaceLineEndings(" "));
                return 1;
            }
            catch (Exception e)
            {
                // A bug, not bad input: still one line, and named as what it is.
                log.Error($"internal error: {e.GetType().Name}: {e.Message}".ReplaceLineEndings(" "));
                return 1;
            }
            finally
            {
                log.Dispose();
            }
        }

        /// <summary>runc's --version layout: tools parse the first line and "spec:".</summary>
        static string VersionText()
        {
            var info = typeof(Cli).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "0.0.0";
            var parts = info.Split('+', 2);
            return $"berth version {parts[0]}\ncommit: {(parts.Length > 1 ? parts[1] : "unknown")}\nspec: {Oci.Runtime.SpecVersion.Current}\n" +
                   $"dotnet: {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}\n";
        }

        const string Usage = """
            berth: an OCI container runtime

            Usage: berth [global options] COMMAND [options] [arguments]

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
              image    images: ls, inspect, rm, tag, gc, import, copy, unpack, umount

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
        /// <summary>--rootless auto|true|false, resolved when a command asks.</summary>
        public bool Rootless => Runtime.Lifecycle.Rootless.Resolve(RootlessFlag);
        public Runtime.Store.StateStore Store => new(Root);
        public Runtime.Lifecycle.Containers Containers => new(Store, Log);
    }
}
