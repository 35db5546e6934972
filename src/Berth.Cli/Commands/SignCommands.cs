using System.Text;
using Berth.Images;
using Berth.Images.Registry;
using Berth.Images.Transports;
using Berth.Linux;
using Berth.Oci.Image;
using Berth.Supply;
using Berth.Supply.Attestations;
using Berth.Supply.Provenance;
using Berth.Supply.Signing;
using Berth.Supply.Signing.Keyless;

namespace Berth.Cli.Commands;

/// <summary>
/// cosign's jobs with cosign's names: `berth key generate`, `berth image sign|verify|attest|
/// verify-attestation|download-attestation`, `berth verify-provenance` (slsa-verifier's checks).
/// Signatures live beside the image: in its registry repository, or in the local store.
/// </summary>
public static class SignCommands
{
    public static bool Handles(string imageSub) => imageSub is "sign" or "verify" or "attest" or "verify-attestation" or "download-attestation";

    static int Guard(string command, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is SupplyException or ImageException or RegistryException or LinuxException or Oci.SpecException)
        {
            throw new SupplyException($"{command}: {e.Message.Replace('\n', ' ')}", e);
        }
    }

    static readonly Flag[] PassphraseFlags = [new("passphrase-file", null, true)];

    public static int Key(IReadOnlyList<string> args) => Guard("key generate", () =>
    {
        var cl = CommandLine.Parse(args, [new("output-prefix", null, true), .. PassphraseFlags], stopAtPositional: false);
        if (cl.Positional.Count != 1 || cl.Positional[0] != "generate")
            throw new UsageException("key: usage: berth key generate [--output-prefix P] [--passphrase-file F] (writes P.key and P.pub; P is cosign by default)");
        var prefix = cl.Value("output-prefix") ?? "cosign";
        var (keyPath, pubPath) = (prefix + ".key", prefix + ".pub");
        foreach (var p in new[] { keyPath, pubPath })
            if (File.Exists(p)) throw new SupplyException($"{p}: already exists; not overwriting a key");
        var passphrase = Passphrase(cl, confirm: true);
        using var key = SigningKey.GenerateEcdsaP256();
        var encrypted = KeyFiles.EncryptPrivateKey(key, passphrase);
        FileSystem.WriteNew(keyPath, Encoding.UTF8.GetBytes(encrypted), 0x180 /* 0600 */);
        try
        {
            FileSystem.WriteNew(pubPath, Encoding.UTF8.GetBytes(key.Public.ToPem()));
        }
        catch
        {
            FileSystem.TryDelete(keyPath);
            throw;
        }
        Runtime.Log.Stderr($"Private key written to {keyPath}\nPublic key written to {pubPath}");
        return 0;
    });

    /// <summary>The passphrase: --passphrase-file (its first line), COSIGN_PASSWORD, or asked on the terminal.</summary>
    internal static byte[] Passphrase(CommandLine cl, bool confirm)
    {
        if (cl.Value("passphrase-file") is { } file)
        {
            var text = FileSystem.ReadText(file, 1 << 16);
            int nl = text.IndexOf('\n');
            return Encoding.UTF8.GetBytes((nl >= 0 ? text[..nl] : text).TrimEnd('\r'));
        }
        if (Environment.GetEnvironmentVariable("COSIGN_PASSWORD") is { } env) return Encoding.UTF8.GetBytes(env);
        var first = LoginCommands.Prompt("Enter password for private key: ", echo: false)
            ?? throw new SupplyException("no passphrase: give --passphrase-file or COSIGN_PASSWORD, or run on a terminal");
        if (confirm && LoginCommands.Prompt("Enter password for private key again: ", echo: false) != first)
            throw new SupplyException("the passphrases do not match");
        return Encoding.UTF8.GetBytes(first);
    }

    static SigningKey PrivateKey(CommandLine cl)
    {
        var path = cl.Value("key") ?? throw new UsageException("--key KEY is required");
        return KeyFiles.ReadPrivateKey(FileSystem.ReadBytes(path, 1 << 20), () => Passphrase(cl, confirm: false), path);
    }

    static VerificationKey PublicKey(string path) => KeyFiles.ReadPublicKey(FileSystem.ReadBytes(path, 1 << 20), path);

    /// <summary>An image to sign or verify: the manifest it names now, and where its attachments live.</summary>
    sealed record Target(IAttachmentPlace Place, Descriptor Manifest, string DockerReference, string Repository) : IDisposable
    {
        public Digest Digest => Oci.Image.Digest.Parse(Manifest.Digest!);
        public RegistrySettings? Settings { get; init; }

        public void Dispose() => Settings?.Dispose();
    }

    static Target Resolve(CommandLine cl, string text)
    {
        var images = new ImageService(cl.Value("store") ?? ImageService.DefaultStore);
        var r = images.Parse(text);
        if (r is DockerReference docker)
        {
            var settings = RegistryCommands.Settings(cl, null);
            docker = docker.WithSettings(settings);
            var q = docker.Qualified ?? throw new SupplyException($"{text}: a short name is ambiguous here: give the registry (docker://HOST/NAME)");
            using var source = DockerSource.Open(docker);
            var top = source.GetManifest();
            return new Target(Places.Of(docker), top.Descriptor, q.ToString(), q.Name) { Settings = settings };
        }
        if (r is StoreReference store)
        {
            var entry = images.Store.Find(store.Name);
            var d = new Descriptor { MediaType = entry.MediaType, Digest = entry.Digest, Size = entry.Size };
            return new Target(Places.OfStore(images.Store, store.Name), d, store.Name, StorePlace.RepositoryOf(store.Name));
        }
        throw new SupplyException($"{text}: signatures live beside images in a registry (docker://) or the store, not in {r.Transport.Name}:");
    }

    static Dictionary<string, string> Annotations(CommandLine cl)
    {
        var a = new Dictionary<string, string>();
        foreach (var kv in cl.Values("annotation"))
        {
            int eq = kv.IndexOf('=');
            if (eq <= 0) throw new UsageException($"--annotation: \"{kv}\" is not KEY=VALUE");
            a[kv[..eq]] = kv[(eq + 1)..];
        }
        return a;
    }

    public static int Image(string sub, List<string> rest) => Guard($"image {sub}", () =>
    {
        var flags = new List<Flag>
        {
            new("store", null, true), new("key", null, true), new("annotation", 'a', true, Repeated: true),
            new("new-bundle-format"), new("bundle"), new("predicate", null, true), new("type", null, true),
            new("trusted-root", null, true), new("certificate-identity", null, true), new("certificate-oidc-issuer", null, true),
            new("sign-identity", null, true), new("output", 'o', true),
        };
        flags.AddRange(PassphraseFlags);
        flags.AddRange(RegistryCommands.SharedFlags);
        var cl = CommandLine.Parse(rest, flags, stopAtPositional: false);
        if (cl.Positional.Count != 1) throw new UsageException($"image {sub}: usage: berth image {sub} [options] IMAGE");
        using var target = Resolve(cl, cl.Positional[0]);
        return sub switch
        {
            "sign" => Sign(cl, target),
            "verify" => Verify(cl, target),
            "attest" => Attest(cl, target),
            "verify-attestation" => VerifyAttestation(cl, target),
            _ => DownloadAttestation(target),
        };
    });

    static bool NewBundle(CommandLine cl) => cl.Has("new-bundle-format") || cl.Has("bundle");

    static int Sign(CommandLine cl, Target t)
    {
        using var key = PrivateKey(cl);
        if (NewBundle(cl))
        {
            var bundle = SigstoreBundle.SignImage(t.Digest, t.Repository, key);
            var d = BundleReferrers.Attach(t.Place, t.Manifest, bundle, PredicateTypes.CosignSign);
            Runtime.Log.Stderr($"Signed {t.DockerReference}@{t.Digest}: bundle {d} attached as a referrer in {t.Place.Where}");
            return 0;
        }
        ImageSigner.Sign(t.Place, t.Digest, cl.Value("sign-identity") ?? t.DockerReference, key, Annotations(cl));
        Runtime.Log.Stderr($"Signed {t.DockerReference}@{t.Digest}: {CosignAttachments.Tag(t.Digest, "sig")} in {t.Place.Where}");
        return 0;
    }

    /// <summary>The requirement of the command line: --key, or keyless (--trusted-root with the identity and issuer).</summary>
    static (SigstoreRequirement Req, TrustedRoot? Root) Requirement(CommandLine cl)
    {
        if (cl.Value("key") is { } keyPath)
            return (new SigstoreRequirement([FileSystem.ReadBytes(keyPath, 1 << 20)]), null);
        var rootPath = cl.Value("trusted-root") ?? throw new UsageException("--key PUB, or --trusted-root FILE with --certificate-identity and --certificate-oidc-issuer, is required");
        var identity = cl.Value("certificate-identity") ?? throw new UsageException("--certificate-identity is required with --trusted-root");
        var issuer = cl.Value("certificate-oidc-issuer") ?? throw new UsageException("--certificate-oidc-issuer is required with --trusted-root");
        var root = TrustedRoot.Parse(FileSystem.ReadBytes(rootPath, 16 << 20), rootPath);
        var cas = root.CertificateAuthorities.SelectMany(c => c.Chain).Select(c => Encoding.UTF8.GetBytes(c.ExportCertificatePem())).ToList();
        return (new SigstoreRequirement([], new FulcioRequirement(cas, issuer, identity), null, root), root);
    }

    static int Verify(CommandLine cl, Target t)
    {
        var (req, root) = Requirement(cl);
        var want = Annotations(cl);
        var lines = new List<string>();
        var failures = new List<string>();
        // Simple-signing signatures in the .sig tag.
        var result = SigstoreVerifier.Verify(CosignAttachments.Read(t.Place, t.Digest, "sig"), t.Digest, req);
        failures.AddRange(result.Failures);
        foreach (var v in result.Verified)
        {
            if (!SameRepository(v.DockerReference, t.Repository))
            {
                failures.Add($"a signature names {v.DockerReference}, not {t.Repository}");
                continue;
            }
            if (want.FirstOrDefault(kv => !v.Optional.TryGetValue(kv.Key, out var got) || got != kv.Value) is { Key: not null } miss)
            {
                failures.Add($"a signature lacks the annotation {miss.Key}={miss.Value}");
                continue;
            }
            lines.Add(Encoding.UTF8.GetString(v.Payload));
        }
        // Bundles attached as referrers.
        foreach (var (json, _) in BundleReferrers.Read(t.Place, t.Digest))
        {
            try
            {
                var bundle = SigstoreBundle.Parse(json);
                var key = cl.Value("key") is { } k ? PublicKey(k) : null;
                var fulcio = root is null ? null : new FulcioChecker(root.CertificateAuthorities.SelectMany(c => c.Chain).ToList(),
                    cl.Value("certificate-oidc-issuer"), cl.Value("certificate-identity"), root.CtLogs);
                bundle.Verify(t.Digest, key, fulcio, root?.TransparencyLogs ?? []);
                if (want.Count > 0) throw new SupplyException("bundle: --annotation claims are only in simple-signing payloads");
                lines.Add(Encoding.UTF8.GetString(json));
            }
            catch (SupplyException e)
            {
                failures.Add(e.Message);
            }
        }
        if (lines.Count == 0)
            throw new SupplyException($"{t.DockerReference}@{t.Digest}: no valid signature" + (failures.Count > 0 ? ": " + string.Join("; ", failures) : " (none attached)"));
        Runtime.Log.Stderr($"Verification for {t.DockerReference}@{t.Digest} --\nThe following checks were performed on each of these signatures:\n" +
            "  - The cosign claims were validated\n  - The signatures were verified against the specified public key");
        Output.Write("[" + string.Join(",", lines) + "]\n");
        return 0;
    }

    static bool SameRepository(string signed, string repository)
    {
        if (Reference.TryParse(signed, out var r, out _) && r is not null && Reference.TryParse(repository, out var want, out _) && want is not null)
            return r.Name == want.Name;
        return StorePlace.RepositoryOf(signed) == repository;
    }

    static int Attest(CommandLine cl, Target t)
    {
        var predicatePath = cl.Value("predicate") ?? throw new UsageException("image attest: --predicate FILE is required");
        var type = PredicateTypes.Resolve(cl.Value("type") ?? "custom");
        var predicate = FileSystem.ReadBytes(predicatePath, 64 << 20);
        using var key = PrivateKey(cl);
        if (NewBundle(cl))
        {
            var bundle = SigstoreBundle.SignImage(t.Digest, t.Repository, key, type, Predicate(predicate));
            BundleReferrers.Attach(t.Place, t.Manifest, bundle, type);
        }
        else Attestor.Attest(t.Place, t.Digest, t.Repository, key, type, predicate);
        Runtime.Log.Stderr($"Attested {t.DockerReference}@{t.Digest} ({type})");
        return 0;
    }

    static string Predicate(byte[] json)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(json);
            return doc.RootElement.GetRawText();
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new SupplyException($"predicate: not JSON ({e.Message})");
        }
    }

    static int VerifyAttestation(CommandLine cl, Target t)
    {
        var key = PublicKey(cl.Value("key") ?? throw new UsageException("image verify-attestation: --key PUB is required"));
        var type = cl.Value("type") is { } ty ? PredicateTypes.Resolve(ty) : null;
        var (ok, failures) = Attestor.Verify(t.Place, t.Digest, key, type);
        var lines = ok.Select(a => Encoding.UTF8.GetString(a.Envelope)).ToList();
        var reasons = new List<string>(failures);
        foreach (var (json, _) in BundleReferrers.Read(t.Place, t.Digest))
        {
            try
            {
                var st = SigstoreBundle.Parse(json).Verify(t.Digest, key, null, []);
                if (st is not null && st.PredicateType != PredicateTypes.CosignSign && (type is null || st.PredicateType == type)) lines.Add(Encoding.UTF8.GetString(json));
            }
            catch (SupplyException e)
            {
                reasons.Add(e.Message);
            }
        }
        if (lines.Count == 0)
            throw new SupplyException($"{t.DockerReference}@{t.Digest}: no valid attestation{(type is null ? "" : " of type " + type)}" + (reasons.Count > 0 ? ": " + string.Join("; ", reasons) : ""));
        foreach (var l in lines) Output.Write(l + "\n");
        return 0;
    }

    static int DownloadAttestation(Target t)
    {
        foreach (var env in Attestor.Download(t.Place, t.Digest)) Output.Write(Encoding.UTF8.GetString(env) + "\n");
        return 0;
    }

    public static int VerifyProvenance(IReadOnlyList<string> args) => Guard("verify-provenance", () =>
    {
        var flags = new List<Flag> { new("store", null, true), new("key", null, true), new("builder-id", null, true), new("source-uri", null, true) };
        flags.AddRange(RegistryCommands.SharedFlags);
        var cl = CommandLine.Parse(args, flags, stopAtPositional: false);
        if (cl.Positional.Count != 1) throw new UsageException("verify-provenance: usage: berth verify-provenance IMAGE --key PUB --builder-id ID --source-uri URI");
        var key = PublicKey(cl.Value("key") ?? throw new UsageException("verify-provenance: --key PUB is required"));
        var builder = cl.Value("builder-id") ?? throw new UsageException("verify-provenance: --builder-id is required");
        var source = cl.Value("source-uri") ?? throw new UsageException("verify-provenance: --source-uri is required");
        using var t = Resolve(cl, cl.Positional[0]);
        var r = ProvenanceVerifier.Verify(t.Place, t.Digest, key, builder, source);
        Output.Write($"PASSED: SLSA provenance of {t.DockerReference}@{t.Digest}: builder {r.BuilderId}, source {r.SourceUri}, build type {r.BuildType}\n");
        return 0;
    });
}
