using System.Text;
using Berth.Images;
using Berth.Linux;
using Berth.Supply;
using Berth.Supply.Rootfs;
using Berth.Supply.Sbom;

namespace Berth.Cli.Commands;

/// <summary>`berth sbom`, `berth scan`, `berth db` and `berth vex`: the supply chain (Berth.Supply).</summary>
public static partial class SupplyCommands
{
    static string ToolVersion => typeof(SupplyCommands).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Runs <paramref name="body"/>, turning the layers' errors into one line named by the command.</summary>
    static int Guard(string command, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is SupplyException or ImageException or Images.Registry.RegistryException or LinuxException or Oci.SpecException)
        {
            throw new SupplyException($"{command}: {e.Message.Replace('\n', ' ')}", e);
        }
    }

    public static int Sbom(IReadOnlyList<string> args) => Guard("sbom", () =>
    {
        var cl = CommandLine.Parse(args, new Flag[] { new("format", 'f', true), new("output", 'o', true), new("store", null, true), new("platform", null, true), new("now"), new("use-attached") }
            .Concat(RegistryCommands.SharedFlags).ToList(), stopAtPositional: false);
        if (cl.Positional.Count == 3 && cl.Positional[0] == "diff")
        {
            Inventory Of(string target)
            {
                using var r = OpenRoot(target, cl.Value("store"), cl.Value("platform"));
                return Inventory.Of(r);
            }
            WriteResult(cl.Value("output"), Encoding.UTF8.GetBytes(InventoryDiff.Table(InventoryDiff.Compare(Of(cl.Positional[1]), Of(cl.Positional[2])))));
            return 0;
        }
        if (cl.Positional.Count != 1) throw new UsageException("sbom: usage: berth sbom IMAGE|dir:ROOTFS [--format spdx-json|cyclonedx-json|table] [-o FILE] [--now] [--use-attached] | berth sbom diff A B");
        var format = cl.Value("format") ?? "table";
        if (format is not ("spdx-json" or "cyclonedx-json" or "table")) throw new UsageException($"--format: \"{format}\" is not spdx-json, cyclonedx-json or table");
        // --use-attached: the SBOM attached to the image (`berth image attach`) in this format, as it was attached, when there is one.
        if (cl.Has("use-attached") && !cl.Positional[0].StartsWith("dir:", StringComparison.Ordinal))
        {
            if (format == "table") throw new UsageException("sbom: --use-attached needs --format spdx-json or cyclonedx-json");
            var images = new ImageService(cl.Value("store") ?? ImageService.DefaultStore);
            using var settings = RegistryCommands.Settings(cl, null);
            var image = RegistryCommands.WithSide(images.Parse(cl.Positional[0]), settings);
            if (Supply.Attachments.AttachedDocuments.Fetch(images, image, Supply.Attachments.AttachedDocuments.ArtifactType(format)) is { } attached)
            {
                WriteResult(cl.Value("output"), attached);
                return 0;
            }
            Runtime.Log.Stderr($"berth: sbom: {cl.Positional[0]} has no attached {format} SBOM; cataloging it");
        }
        using var root = OpenRoot(cl.Positional[0], cl.Value("store"), cl.Value("platform"));
        var inv = Inventory.Of(root);
        var options = new SbomOptions(cl.Has("now") ? DateTimeOffset.UtcNow : SbomOptions.DefaultCreated(), ToolVersion);
        var bytes = format switch
        {
            "spdx-json" => SpdxWriter.Write(inv, options),
            "cyclonedx-json" => CycloneDxWriter.Write(inv, options),
            _ => Encoding.UTF8.GetBytes(TableWriter.Write(inv)),
        };
        WriteResult(cl.Value("output"), bytes);
        return 0;
    });

    /// <summary>dir:PATH is a root file system, unless PATH is skopeo's directory layout (it has a manifest.json); anything else is an image.</summary>
    internal static RootView OpenRoot(string target, string? store, string? platform)
    {
        if (target.StartsWith("dir:", StringComparison.Ordinal) && !System.IO.File.Exists(Path.Combine(target[4..], "manifest.json")))
        {
            var path = target[4..];
            if (!System.IO.Directory.Exists(path)) throw new SupplyException($"{path}: no such directory");
            return RootView.Directory(path, target);
        }
        var images = new ImageService(store ?? ImageService.DefaultStore);
        return RootView.Image(images, images.Parse(target), platform is null ? null : Images.Store.PlatformSpec.Parse(platform));
    }

    static void WriteResult(string? output, byte[] bytes)
    {
        if (output is null or "-")
        {
            Output.Write(bytes);
            return;
        }
        // Replaced whole: a reader never sees half a document.
        var temp = output + ".tmp-" + Environment.ProcessId;
        FileSystem.TryDelete(temp);
        FileSystem.WriteNew(temp, bytes);
        FileSystem.Rename(temp, output);
    }
}
