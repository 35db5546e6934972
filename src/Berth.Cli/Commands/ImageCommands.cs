using System.Text;
using Berth.Images;
using Berth.Images.Bundles;
using Berth.Images.Copy;
using Berth.Images.Layers;
using Berth.Images.Store;
using Berth.Images.Transports;

namespace Berth.Cli.Commands;

/// <summary>`berth image ...`: the store and every transport (oci:, oci-archive:, dir:, docker-archive:, docker://).</summary>
public static class ImageCommands
{
    const string Usage = "image: usage: berth image ls|inspect|rm|tag|gc|import|copy|pull|push|list-tags|delete|sync|unpack|umount|attach|referrers [--store DIR] ... " +
        "(IMAGE: NAME, oci:PATH[:REF], oci-archive:FILE[:REF], dir:PATH, docker-archive:FILE[:REF], docker://HOST/NAME[:TAG|@DIGEST])";

    public static int Run(IReadOnlyList<string> args)
    {
        // `berth image --store DIR SUB ...` as well as `berth image SUB ... --store DIR`.
        int lead = 0;
        while (lead < args.Count && (args[lead] == "--store" || args[lead].StartsWith("--store=")))
            lead += args[lead] == "--store" ? 2 : 1;
        // The leading flags go after the subcommand, where its own parse reads them.
        var list = args.Skip(lead).Concat(args.Take(lead)).ToList();
        if (lead > args.Count || list.Count == 0 || list[0].StartsWith('-')) throw new UsageException(Usage);
        try
        {
            return Run(list[0], list.Skip(1).ToList());
        }
        catch (Exception e) when (e is ImageException or Images.Registry.RegistryException or Linux.LinuxException or Oci.SpecException or Supply.SupplyException)
        {
            // One line, named by its operation: "berth: image unpack: layer sha256:…: entry "x": …".
            throw new ImageException(Quote.Line($"image {list[0]}: {e.Message}"), e);
        }
    }

    static int Run(string sub, List<string> rest)
    {
        if (SignCommands.Handles(sub)) return SignCommands.Image(sub, rest);
        if (sub is "attach" or "referrers") return ArtifactCommands.Run(sub, rest);
        var flags = new List<Flag> { new("store", null, true) };
        switch (sub)
        {
            case "inspect": flags.AddRange(new Flag[] { new("raw"), new("config"), new("platform", null, true), new("no-tags", 'n') }); flags.AddRange(RegistryCommands.SharedFlags); break;
            case "unpack": flags.AddRange(new Flag[] { new("overlay"), new("platform", null, true), new("max-layer-size", null, true) }); break;
            // skopeo copy's names.
            case "copy":
                flags.AddRange(new Flag[]
                {
                    new("all", 'a'), new("platform", null, true), new("preserve-digests"), new("dest-compress-format", null, true), new("dest-compress-level", null, true),
                    new("format", 'f', true, Repeated: true), new("remove-signatures"),
                });
                flags.AddRange(RegistryCommands.SharedFlags);
                flags.AddRange(RegistryCommands.SideFlags("src"));
                flags.AddRange(RegistryCommands.SideFlags("dest"));
                flags.AddRange(PolicyFlags.Flags);
                break;
            case "pull":
                flags.AddRange(new Flag[] { new("all", 'a'), new("platform", null, true), new("format", 'f', true, Repeated: true) });
                flags.AddRange(RegistryCommands.SharedFlags);
                flags.AddRange(PolicyFlags.Flags);
                break;
            case "push":
                flags.AddRange(new Flag[]
                {
                    new("all", 'a'), new("platform", null, true), new("format", 'f', true, Repeated: true), new("remove-signatures"),
                    new("dest-compress-format", null, true),
                });
                flags.AddRange(RegistryCommands.SharedFlags);
                flags.AddRange(RegistryCommands.SideFlags("dest"));
                break;
            case "list-tags" or "delete":
                flags.AddRange(RegistryCommands.SharedFlags);
                break;
            case "sync":
                flags.AddRange(new Flag[]
                {
                    new("src", 's', true), new("dest", 'd', true), new("scoped"), new("all", 'a'), new("platform", null, true),
                    new("format", 'f', true, Repeated: true), new("preserve-digests"), new("remove-signatures"),
                });
                flags.AddRange(RegistryCommands.SharedFlags);
                flags.AddRange(RegistryCommands.SideFlags("src"));
                flags.AddRange(RegistryCommands.SideFlags("dest"));
                break;
        }
        // Unlike runc's commands, image commands take flags anywhere (skopeo and umoci do).
        var cl = CommandLine.Parse(rest, flags, stopAtPositional: false);
        var store = cl.Value("store") ?? ImageService.DefaultStore;
        PlatformSpec? platform = cl.Value("platform") is { } pl ? PlatformSpec.Parse(pl) : null;
        string Arg(int i, string what) => cl.Positional.Count > i ? cl.Positional[i] : throw new UsageException($"image {sub}: {what} is required");
        void NoMore(int n)
        {
            if (cl.Positional.Count > n) throw new UsageException($"image {sub}: unexpected arguments: {string.Join(' ', cl.Positional.Skip(n))}");
        }

        if (sub == "umount")
        {
            NoMore(1);
            BundleWriter.Remove(Arg(0, "a bundle directory"));
            return 0;
        }
        var images = new ImageService(store);
        switch (sub)
        {
            case "ls":
            {
                NoMore(1);
                var where = cl.Positional.Count == 1 ? images.Parse(cl.Positional[0]) : null;
                var sb = new StringBuilder("NAME                                      DIGEST                                                                   SIZE\n");
                foreach (var d in images.List(where))
                    sb.Append($"{d.Annotations?.GetValueOrDefault(OciLayout.RefName) ?? "<none>",-41} {d.Digest,-72} {d.Size}\n");
                Output.Write(sb.ToString());
                return 0;
            }
            case "inspect":
            {
                NoMore(1);
                var view = cl.Has("raw") ? "raw" : cl.Has("config") ? "config" : "summary";
                var target = images.Parse(Arg(0, "an image"));
                if (target is DockerReference docker)
                {
                    using var settings = RegistryCommands.Settings(cl, null);
                    // --raw prints the exact bytes: no newline is added to a manifest whose digest is over them.
                    var bytes = RegistryCommands.Inspect(images, docker.WithSettings(settings), platform, view, tags: !cl.Has("no-tags"));
                    if (view == "raw") Output.Write(bytes);
                    else Output.WriteLine(bytes);
                    return 0;
                }
                Output.WriteLine(images.Inspect(target, platform, view));
                return 0;
            }
            case "rm":
                foreach (var name in cl.Positional.Count > 0 ? cl.Positional : throw new UsageException("image rm: an image name is required"))
                    images.Remove(name);
                return 0;
            case "tag":
                NoMore(2);
                images.Tag(images.Parse(Arg(0, "a source image")), Arg(1, "a new name"));
                return 0;
            case "gc":
            {
                NoMore(0);
                var (blobs, snapshots) = images.CollectGarbage();
                Output.Write($"removed {blobs} blobs, {snapshots} snapshots\n");
                return 0;
            }
            case "import":
            {
                NoMore(2);
                var d = images.Import(Arg(0, "a rootfs tarball"), Arg(1, "a name"));
                Output.Write(d.Digest + "\n");
                return 0;
            }
            case "copy":
            {
                NoMore(2);
                var (manifests, json) = RegistryCommands.Formats(cl);
                var options = new CopyOptions
                {
                    All = cl.Has("all"), Platform = platform, PreserveDigests = cl.Has("preserve-digests"), RemoveSignatures = cl.Has("remove-signatures"),
                    DestCompressFormat = cl.Value("dest-compress-format") is { } c ? CopyOptions.ParseCompression(c) : null,
                    DestCompressLevel = cl.Value("dest-compress-level") is { } lv ? CopyOptions.ParseLevel(lv) : null,
                    Format = manifests, ParallelBlobs = RegistryCommands.Parallel(cl), Policy = PolicyFlags.From(cl, images),
                };
                if (options.All && platform is not null) throw new UsageException("image copy: --all and --platform: one or the other");
                using var srcSettings = RegistryCommands.Settings(cl, "src");
                using var dstSettings = RegistryCommands.Settings(cl, "dest");
                var from = RegistryCommands.WithSide(images.Parse(Arg(0, "a source")), srcSettings);
                var to = RegistryCommands.WithSide(images.Parse(Arg(1, "a destination")), dstSettings);
                return RegistryCommands.Report(cl, json, to.ToString(), progress => (images.Copy(from, to, options with { Progress = progress }), null));
            }
            case "pull":
                if (cl.Has("all") && platform is not null) throw new UsageException("image pull: --all and --platform: one or the other");
                return RegistryCommands.Pull(images, cl, platform);
            case "push":
                return RegistryCommands.Push(images, cl, platform);
            case "list-tags":
                return RegistryCommands.ListTags(images, cl);
            case "delete":
                return RegistryCommands.Delete(images, cl);
            case "sync":
                return RegistryCommands.SyncImages(images, cl, platform);
            case "unpack":
            {
                NoMore(2);
                long max = cl.Bytes("max-layer-size") is { } m ? (m > 0 ? m : throw new UsageException("--max-layer-size: must be a positive size")) : LayerStream.DefaultMaxBytes;
                images.Bundles.Unpack(images.Parse(Arg(0, "an image")), Arg(1, "a bundle directory"), cl.Has("overlay"), platform, max);
                return 0;
            }
            default:
                throw new UsageException(Usage);
        }
    }
}
