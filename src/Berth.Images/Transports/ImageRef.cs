namespace Berth.Images.Transports;

public enum Transport { Store, Oci, OciArchive }

/// <summary>
/// Where an image is: "oci:PATH[:REF]" (a layout directory), "oci-archive:FILE[:REF]" (a
/// tarball of one), or a plain "NAME[:TAG]" in Berth's store (":latest" when untagged).
/// </summary>
public sealed record ImageRef(Transport Transport, string Path, string? Name)
{
    public static ImageRef Parse(string text)
    {
        if (text.StartsWith("oci:")) return Split(Transport.Oci, text[4..]);
        if (text.StartsWith("oci-archive:")) return Split(Transport.OciArchive, text[12..]);
        if (text.StartsWith("docker://") || text.StartsWith("dir:"))
            throw new ImageException($"{text}: the {text[..text.IndexOf(':')]} transport is not supported yet (oci:, oci-archive: and the store are)");
        if (text.Length == 0) throw new ImageException("an image name is required");
        return new ImageRef(Transport.Store, "", Normalize(text));
    }

    /// <summary>PATH:REF, split at the first ':' — as skopeo does, a path may not hold one, a name may ("app:1").</summary>
    static ImageRef Split(Transport t, string rest)
    {
        if (rest.Length == 0) throw new ImageException($"{(t == Transport.Oci ? "oci" : "oci-archive")}: a path is required");
        int colon = rest.IndexOf(':');
        if (colon == 0) throw new ImageException($"{(t == Transport.Oci ? "oci" : "oci-archive")}: a path is required before the name");
        if (colon > 0) return new ImageRef(t, rest[..colon], rest[(colon + 1)..].Length == 0 ? null : rest[(colon + 1)..]);
        return new ImageRef(t, rest, null);
    }

    /// <summary>A store name gets ":latest" when it has no tag (the part after the last '/' has no ':').</summary>
    public static string Normalize(string name)
    {
        if (name.Contains('@')) return name;
        int slash = name.LastIndexOf('/');
        return name[(slash + 1)..].Contains(':') ? name : name + ":latest";
    }

    public override string ToString() => Transport switch
    {
        Transport.Oci => $"oci:{Path}{(Name is null ? "" : ":" + Name)}",
        Transport.OciArchive => $"oci-archive:{Path}{(Name is null ? "" : ":" + Name)}",
        _ => Name!,
    };
}
