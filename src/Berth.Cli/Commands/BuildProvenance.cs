using Berth.Engine.Build.Annotations;
using Berth.Engine.Build.Executor;
using Berth.Images;
using Berth.Images.Transports;
using Berth.Linux;
using Berth.Oci.Image;
using Berth.Supply;
using Berth.Supply.Attestations;
using Berth.Supply.Provenance;
using Berth.Supply.Signing;

namespace Berth.Cli.Commands;

/// <summary>`berth build --provenance KEY` (issue 17): a signed SLSA Provenance v1 attestation of the built image, beside it in the store and in each pushed repository.</summary>
static class BuildProvenance
{
    public const string DefaultBuilderId = "https://github.com/berth-project/berth/builder@v1";

    public static readonly Flag[] Flags = [new("provenance", null, true), new("builder-id", null, true), new("passphrase-file", null, true)];

    /// <summary>The key is read (and its passphrase checked) before anything is built: a wrong passphrase builds nothing.</summary>
    public static SigningKey? Key(CommandLine cl)
    {
        if (cl.Value("provenance") is not { } path) return null;
        try
        {
            return KeyFiles.ReadPrivateKey(FileSystem.ReadBytes(path, 1 << 20), () => SignCommands.Passphrase(cl, confirm: false), path);
        }
        catch (Exception e) when (e is SupplyException or LinuxException)
        {
            throw new SupplyException($"--provenance {path}: {e.Message}", e);
        }
    }

    /// <summary>The predicate: the Containerfile and build args asked for, the images and git commit used, who built it and when.</summary>
    public static byte[] Predicate(BuildOptions o, BuildResult result, string builderId, DateTimeOffset started, DateTimeOffset finished)
    {
        var git = SourceAnnotations.FromGit(o.ContextDir);
        (string, string)? commit = git.TryGetValue(SourceAnnotations.Source, out var url) && git.TryGetValue(SourceAnnotations.Revision, out var rev)
            ? ("git+" + url, rev) : null;
        var bases = result.BaseImages.Select(b => (Purl(b.Name), Digest.Parse(b.Digest))).ToList();
        // The proxy args are the user's environment, never part of what was built (docker keeps them out of history too).
        var args = o.BuildArgs.Where(kv => !Builder.ProxyArgs.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
        return ProvenanceBuilder.Create(ProvenanceBuilder.BerthBuildType, new ExternalParameters(o.FileText, args),
            new ResolvedDependencies(bases, commit), builderId, started, finished);
    }

    /// <summary>"pkg:docker/NAME@TAG" for NAME:TAG (a digest reference keeps its digest as the version).</summary>
    static string Purl(string name)
    {
        int at = name.IndexOf('@');
        if (at >= 0) return $"pkg:docker/{name[..at]}@{name[(at + 1)..]}";
        int colon = name.LastIndexOf(':');
        return colon > name.LastIndexOf('/') ? $"pkg:docker/{name[..colon]}@{name[(colon + 1)..]}" : $"pkg:docker/{name}@latest";
    }

    public static void AttachToStore(ImageService images, string name, Digest manifest, SigningKey key, byte[] predicate) =>
        Attestor.Attest(Places.OfStore(images.Store, name), manifest, StorePlace.RepositoryOf(name), key, PredicateTypes.SlsaProvenanceV1, predicate);

    public static void AttachToRegistry(DockerReference pushed, Digest manifest, SigningKey key, byte[] predicate)
    {
        var q = pushed.Qualified ?? throw new SupplyException($"{pushed}: a short name is ambiguous here: give the registry");
        Attestor.Attest(Places.Of(pushed), manifest, q.Name, key, PredicateTypes.SlsaProvenanceV1, predicate);
    }
}
