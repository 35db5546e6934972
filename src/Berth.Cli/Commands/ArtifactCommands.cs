using System.Text;
using Berth.Images;
using Berth.Linux;
using Berth.Supply;
using Berth.Supply.Attachments;

namespace Berth.Cli.Commands;

/// <summary>`berth image attach` and `berth image referrers`: documents next to an image, as OCI 1.1 artifacts whose subject is the image.</summary>
public static class ArtifactCommands
{
    public static int Run(string sub, List<string> rest)
    {
        var flags = new List<Flag> { new("store", null, true) };
        flags.AddRange(RegistryCommands.SharedFlags);
        if (sub == "attach") flags.Add(new("type", 't', true));
        else flags.AddRange(new Flag[] { new("artifact-type", null, true), new("format", 'f', true) });
        var cl = CommandLine.Parse(rest, flags, stopAtPositional: false);
        var images = new ImageService(cl.Value("store") ?? ImageService.DefaultStore);
        using var settings = RegistryCommands.Settings(cl, null);
        try
        {
            if (sub == "attach")
            {
                if (cl.Positional.Count != 2) throw new UsageException("image attach: usage: berth image attach --type spdx|cyclonedx|openvex FILE IMAGE");
                var type = AttachedDocuments.ArtifactType(cl.Value("type") ?? throw new UsageException("image attach: --type spdx|cyclonedx|openvex is required"));
                var file = cl.Positional[0];
                var document = FileSystem.ReadBytes(file, AttachedDocuments.MaxDocumentBytes);
                var target = RegistryCommands.WithSide(images.Parse(cl.Positional[1]), settings);
                var (artifact, _) = AttachedDocuments.Attach(images, target, type, document, Path.GetFileName(file));
                Output.Write(artifact.Digest + "\n");
                return 0;
            }
            if (cl.Positional.Count != 1) throw new UsageException("image referrers: usage: berth image referrers IMAGE [--artifact-type TYPE] [--format table|json]");
            var format = cl.Value("format") ?? "table";
            if (format is not ("table" or "json")) throw new UsageException($"--format: \"{format}\" is not table or json");
            var image = RegistryCommands.WithSide(images.Parse(cl.Positional[0]), settings);
            var (_, list) = AttachedDocuments.List(images, image, cl.Value("artifact-type"));
            if (format == "json")
            {
                // The referrers API's own answer: an image index of the artifacts' descriptors.
                Output.Write(Images.Referrers.ArtifactManifest.Listing(list));
                Output.Write("\n");
                return 0;
            }
            var sb = new StringBuilder($"{"DIGEST",-72} {"ARTIFACT TYPE",-32} SIZE\n");
            foreach (var d in list) sb.Append($"{d.Digest,-72} {d.ArtifactType ?? "",-32} {d.Size}\n");
            Output.Write(sb.ToString());
            return 0;
        }
        catch (SupplyException e)
        {
            throw new SupplyException($"image {sub}: {e.Message}", e);
        }
    }
}
