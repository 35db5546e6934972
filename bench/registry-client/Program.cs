using System.Diagnostics;
using System.Text.Json;
using Berth.Images.Registry;
using Berth.Oci.Image;
using Berth.Oci.Json;

// Pull and push through Berth's registry client, TLS off (a loopback registry), anonymous or
// with REGISTRY_USER/REGISTRY_PASSWORD; registries.conf and auth.json read as berth would.
try
{
    var env = RegistryEnvironment.FromProcess();
    var creds = Environment.GetEnvironmentVariable("REGISTRY_USER") is { Length: > 0 } user
        ? new FixedCredentials(new RegistryCredentials(user, Environment.GetEnvironmentVariable("REGISTRY_PASSWORD") ?? ""))
        : (ICredentialSource)AuthFiles.Default(env);
    var options = new RegistryOptions { Environment = env, TlsVerify = false, Credentials = creds, Conf = RegistriesConf.Load(env) };
    var clock = Stopwatch.StartNew();
    long bytes = 0;
    switch (args)
    {
        case ["pull", var host, var repo, var tag, var dir]:
        {
            using var client = new RegistryClient(host, options);
            var m = await client.GetManifestAsync(repo, tag);
            var manifest = JsonIn.Parse(m.Bytes, "manifest", Manifest.Read);
            var blobs = Path.Combine(dir, "blobs", "sha256");
            Directory.CreateDirectory(blobs);
            var all = manifest.Layers!.Append(manifest.Config!).ToList();
            await Task.WhenAll(all.Select(d =>
                client.DownloadBlobAsync(repo, Digest.Parse(d.Digest!), d.Size ?? -1, Path.Combine(blobs, Digest.Parse(d.Digest!).Encoded))));
            File.WriteAllBytes(Path.Combine(blobs, m.Digest.Encoded), m.Bytes);
            File.WriteAllText(Path.Combine(dir, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
            File.WriteAllText(Path.Combine(dir, "index.json"),
                $"{{\"schemaVersion\":2,\"manifests\":[{{\"mediaType\":\"{m.MediaType}\",\"digest\":\"{m.Digest}\",\"size\":{m.Bytes.Length}}}]}}");
            bytes = all.Sum(d => d.Size ?? 0);
            break;
        }
        case ["push", var dir, var host, var repo, var tag]:
        {
            using var client = new RegistryClient(host, options);
            using var index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "index.json")));
            var top = index.RootElement.GetProperty("manifests")[0];
            var manifestDigest = Digest.Parse(top.GetProperty("digest").GetString()!);
            var manifestType = top.GetProperty("mediaType").GetString()!;
            var blobs = Path.Combine(dir, "blobs", "sha256");
            var bytesOfManifest = File.ReadAllBytes(Path.Combine(blobs, manifestDigest.Encoded));
            var manifest = JsonIn.Parse(bytesOfManifest, "manifest", Manifest.Read);
            var all = manifest.Layers!.Append(manifest.Config!).ToList();
            await Task.WhenAll(all.Select(d =>
            {
                var digest = Digest.Parse(d.Digest!);
                var path = Path.Combine(blobs, digest.Encoded);
                return client.PushBlobAsync(repo, digest, d.Size ?? new FileInfo(path).Length,
                    () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan));
            }));
            await client.PutManifestAsync(repo, tag, bytesOfManifest, manifestType);
            bytes = all.Sum(d => d.Size ?? 0);
            break;
        }
        default:
            Console.Error.WriteLine("usage: registry-bench pull HOST REPO TAG DIR | push DIR HOST REPO TAG");
            return 2;
    }
    if (Environment.GetEnvironmentVariable("REGISTRY_BENCH_VERBOSE") is not null)
        Console.Error.WriteLine($"{args[0]}: {bytes / 1e6:0.0} MB in {clock.Elapsed.TotalSeconds:0.000} s = {bytes / 1e6 / clock.Elapsed.TotalSeconds:0} MB/s");
    return 0;
}
catch (RegistryException e)
{
    Console.Error.WriteLine($"registry-bench: {e.Message}");
    return 1;
}
