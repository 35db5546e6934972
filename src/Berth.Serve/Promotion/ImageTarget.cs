using Berth.Images;
using Berth.Images.Referrers;
using Berth.Images.Transports;
using Berth.Oci.Image;
using Berth.Supply.Signing;

namespace Berth.Serve.Promotion;

/// <summary>An image in a registry, resolved: the reference, its repository ("host/path": what the policy's patterns match), its manifest, and where its attachments live.</summary>
public sealed record ResolvedImage(DockerReference Reference, string Repository, Descriptor Manifest, RegistryPlace Place)
{
    public Digest Digest => Digest.Parse(Manifest.Digest!);

    /// <summary>Only registry references (a path transport would read the service's own files); "docker://" is optional.</summary>
    public static DockerReference Parse(ImageService images, string image, string field)
    {
        var text = image.StartsWith("docker://", StringComparison.Ordinal) ? image : "docker://" + image;
        ImageReference r;
        try { r = images.Parse(text); }
        catch (ImageException e) { throw new ServeException(400, $"{field}: {e.Message}"); }
        if (r is not DockerReference { Qualified: not null } d) throw new ServeException(400, $"{field}: \"{image}\" is not a registry reference with its registry (HOST/PATH[:TAG|@DIGEST])");
        return d;
    }

    public static ResolvedImage Resolve(ImageService images, string image, string field)
    {
        var d = Parse(images, image, field);
        try
        {
            var (client, repository, subject) = RegistryReferrers.Resolve(d);
            return new ResolvedImage(d, d.Qualified!.Name, subject, new RegistryPlace(client, repository));
        }
        catch (ImageException e)
        {
            throw new ServeException(404, $"{field}: {e.Message}");
        }
        catch (Berth.Images.Registry.RegistryException e)
        {
            throw new ServeException(502, $"{field}: {d.Qualified}: {e.Message}");
        }
    }
}
