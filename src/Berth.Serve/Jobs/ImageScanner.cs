using Berth.Images;
using Berth.Images.Copy;
using Berth.Images.Transports;

namespace Berth.Serve.Jobs;

/// <summary>
/// The pull half of a scan: a registry reference (only: a path transport such as oci: or dir: would
/// read the service's own file system) pulled into the service's store through the pull policy gate.
/// </summary>
public sealed class ImagePuller(ImageService images, IImagePolicy? gate)
{
    public DockerReference Reference(string image)
    {
        var text = image.StartsWith("docker://", StringComparison.Ordinal) ? image : "docker://" + image;
        ImageReference parsed;
        try { parsed = images.Parse(text); }
        catch (Exception e) when (e is ImageException or Images.Registry.RegistryException) { throw new ServeException(400, $"image: {e.Message}"); }
        return parsed as DockerReference ?? throw new ServeException(400, $"image: \"{image}\" is not a registry reference");
    }

    /// <summary>Pulls <paramref name="image"/> (blobs already stored are not fetched again); returns its digest and its name in the store.</summary>
    public (string Digest, string Name) Pull(string image)
    {
        var (written, name) = images.Pull(Reference(image), new CopyOptions { Policy = gate });
        return (written.Digest!, name);
    }
}
