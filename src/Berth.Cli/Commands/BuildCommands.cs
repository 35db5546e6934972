using System.Text;
using Berth.Engine;
using Berth.Engine.Build.Executor;
using Berth.Images.Transports;
using Berth.Linux;
using Berth.Runtime;

namespace Berth.Cli.Commands;

/// <summary>`berth build` (buildah bud's and docker build's face): a Containerfile to an image in the store, and to --output / --push.</summary>
public static class BuildCommands
{
    public const string UsageLine =
        "  build    an image from a Containerfile: [-f FILE] [-t NAME]… [--build-arg K=V] [--target S] [--secret id=X,src=F]\n" +
        "           [--provenance KEY [--builder-id ID] [--passphrase-file F]] CONTEXT\n";

    static readonly Flag[] Flags = RegistryCommands.SharedFlags.Where(f => f.Name is not ("quiet")).Concat(new Flag[]
    {
        new("file", 'f', true), new("tag", 't', true, true), new("build-arg", null, true, true), new("target", null, true),
        new("timestamp", null, true), new("no-cache"), new("layers"), new("network", null, true), new("secret", null, true, true),
        new("platform", null, true), new("format", null, true), new("iidfile", null, true), new("output", 'o', true, true),
        new("push"), new("annotation", null, true, true), new("label", null, true, true), new("jobs", null, true), new("quiet", 'q'),
    }).Concat(BuildProvenance.Flags).ToArray();

    public static int Build(Context ctx, IReadOnlyList<string> args)
    {
        var cl = CommandLine.Parse(args, Flags, stopAtPositional: false);
        if (cl.Positional.Count > 1) throw new UsageException("build: usage: berth build [options] CONTEXT");
        var contextDir = Path.GetFullPath(cl.Positional.Count == 1 ? cl.Positional[0] : ".");
        if (!Files.TryStat(null, contextDir, true, out var cst, out _) || !cst.IsDirectory) throw new EngineException($"context {contextDir}: not a directory");

        // -f as given (relative to the working directory, else to the context: podman's order); else Containerfile, then Dockerfile, in the context.
        string file, shown;
        if (cl.Value("file") is { } f)
        {
            shown = f;
            file = Files.TryStat(null, f, true, out _, out _) || Path.IsPathRooted(f) ? Path.GetFullPath(f) : Path.Combine(contextDir, f);
        }
        else
        {
            shown = Files.TryStat(null, Path.Combine(contextDir, "Containerfile"), true, out _, out _) ? "Containerfile" : "Dockerfile";
            file = Path.Combine(contextDir, shown);
        }
        if (!Files.TryStat(null, file, true, out var fst, out _) || !fst.IsRegular)
            throw new EngineException(cl.Value("file") is null ? $"no Containerfile or Dockerfile in {contextDir} (-f FILE names another)" : $"-f {shown}: no such file");
        var text = Encoding.UTF8.GetString(RegularFile.Read(file, 16 << 20, followLinks: true));

        var buildArgs = new Dictionary<string, string>();
        foreach (var a in cl.Values("build-arg"))
        {
            int eq = a.IndexOf('=');
            // --build-arg NAME alone takes the value from the environment (docker's rule); unset, it is not given.
            if (eq < 0) { if (Environment.GetEnvironmentVariable(a) is { } env) buildArgs[a] = env; }
            else buildArgs[a[..eq]] = a[(eq + 1)..];
        }
        var secrets = new Dictionary<string, string>();
        foreach (var s in cl.Values("secret"))
        {
            string? id = null, src = null;
            foreach (var part in s.Split(','))
            {
                var kv = part.Split('=', 2);
                if (kv.Length != 2) throw new UsageException($"--secret \"{s}\": not id=ID,src=FILE");
                switch (kv[0])
                {
                    case "id": id = kv[1]; break;
                    case "src" or "source": src = kv[1]; break;
                    case "type" when kv[1] == "file": break;
                    default: throw new UsageException($"--secret \"{s}\": unknown field \"{kv[0]}\" (id=ID,src=FILE)");
                }
            }
            if (id is null) throw new UsageException($"--secret \"{s}\": id= is required");
            src ??= id;
            if (!Files.TryStat(null, src, true, out var sst, out _) || !sst.IsRegular) throw new UsageException($"--secret id={id}: {src} is not a file");
            secrets[id] = Path.GetFullPath(src);
        }
        // --timestamp, else SOURCE_DATE_EPOCH: created times fixed, mtimes clamped, gzip without a time.
        long? timestamp = Images.Layers.BuildTimestamp.Resolve(cl.Value("timestamp"), Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH"))?.UnixSeconds;
        var format = cl.Value("format") ?? "oci";
        if (format is not ("oci" or "docker")) throw new UsageException($"--format \"{format}\": not oci or docker");
        var network = cl.Value("network") ?? "host";
        if (network is not ("host" or "none")) throw new UsageException($"--network \"{network}\": not host or none");
        Dictionary<string, string> Pairs(string flag)
        {
            var d = new Dictionary<string, string>();
            foreach (var kv in cl.Values(flag))
            {
                int eq = kv.IndexOf('=');
                if (eq <= 0) throw new UsageException($"--{flag} \"{kv}\": not KEY=VALUE");
                d[kv[..eq]] = kv[(eq + 1)..];
            }
            return d;
        }
        var outputs = cl.Values("output").ToList();
        if (cl.Has("push") && cl.Values("tag").Count == 0) throw new UsageException("--push: a -t NAME to push to is required");

        var engine = EngineCommands.EngineOf(ctx);
        bool quiet = cl.Has("quiet");
        var registries = RegistryCommands.Settings(cl, null);
        var options = new BuildOptions
        {
            ContextDir = contextDir, File = shown, FileText = text, Tags = cl.Values("tag").ToList(), BuildArgs = buildArgs,
            Target = cl.Value("target"), Timestamp = timestamp, NoCache = cl.Has("no-cache"), Layers = cl.Value("layers") != "false",
            Network = network, Secrets = secrets, Platform = cl.Value("platform"), Format = format,
            Annotations = Pairs("annotation"), Labels = Pairs("label"), Registries = registries,
            Jobs = cl.Value("jobs") is { } j ? int.TryParse(j, out var n) && n > 0 ? n : throw new UsageException($"--jobs \"{j}\": not a positive number") : 2,
            Log = quiet ? _ => { } : line => Output.Write(line + "\n"),
            RunOutput = quiet ? _ => { } : data => Output.Write(data),
        };
        // Outputs are parsed before anything is built: a bad one fails first.
        var images = new Images.ImageService(engine.Settings.ImagesRoot, registries);
        var outRefs = outputs.Select(o => images.Parse(o)).ToList();

        using var provenanceKey = BuildProvenance.Key(cl);
        var builderId = cl.Value("builder-id") ?? BuildProvenance.DefaultBuilderId;
        var started = DateTimeOffset.UtcNow;
        var result = new Builder(engine.Settings, options).Build();
        byte[]? provenance = null;
        if (provenanceKey is not null)
        {
            provenance = BuildProvenance.Predicate(options, result, builderId, started, DateTimeOffset.UtcNow);
            foreach (var name in options.Tags.Count > 0 ? options.Tags.Select(StoreTransport.Normalize) : new[] { result.Name })
                BuildProvenance.AttachToStore(images, name, Oci.Image.Digest.Parse(result.ManifestDigest), provenanceKey, provenance);
            if (!quiet) Output.Write($"Attested {result.Name}@{result.ManifestDigest} (SLSA provenance, builder {builderId})\n");
        }

        var stored = new StoreReference(images.StoreTransport, result.Name);
        foreach (var to in outRefs)
        {
            images.Copy(stored, to);
            if (!quiet) Output.Write($"Wrote {to}\n");
        }
        if (cl.Has("push"))
            foreach (var tag in options.Tags)
            {
                var to = RegistryCommands.WithSide(images.Parse("docker://" + StoreTransport.Normalize(tag)), registries);
                images.Copy(new StoreReference(images.StoreTransport, StoreTransport.Normalize(tag)), to);
                if (!quiet) Output.Write($"Pushed {to}\n");
                if (provenance is not null) BuildProvenance.AttachToRegistry((DockerReference)to, Oci.Image.Digest.Parse(result.ManifestDigest), provenanceKey!, provenance);
            }
        if (cl.Value("iidfile") is { } iid)
        {
            FileSystem.TryDelete(iid);
            FileSystem.WriteNew(iid, Encoding.UTF8.GetBytes(result.ImageId));
        }
        if (!quiet) Output.Write($"Successfully tagged {string.Join(", ", options.Tags.Count > 0 ? options.Tags.Select(StoreTransport.Normalize) : new[] { result.Name })}\n");
        Output.Write(result.ImageId + "\n");
        return 0;
    }
}
