using System.IO.Compression;
using System.Text.Json;

namespace Berth.Supply.Catalogers;

/// <summary>
/// Rust binaries built with cargo-auditable: the ELF section .dep-v0 holds zlib-compressed JSON,
/// {"packages":[{"name","version","source","kind","dependencies":[i…],"root":true}]} — every crate
/// compiled in, the root one being the binary's own.
/// </summary>
public static class CargoAuditable
{
    /// <summary>Decompressed JSON is bounded: the format's own reader caps it at 8 MiB.</summary>
    const int MaxJson = 8 << 20;

    public sealed record Crate(string Name, string Version, string? Source, string Kind, bool Root);

    public static List<Crate>? Parse(byte[] section, string what)
    {
        byte[] json;
        try
        {
            using var z = new ZLibStream(new MemoryStream(section), CompressionMode.Decompress);
            using var ms = new MemoryStream();
            var buffer = new byte[64 << 10];
            int n;
            while ((n = z.Read(buffer)) > 0)
            {
                if (ms.Length + n > MaxJson) throw new SupplyException($"{what}: .dep-v0 decompresses to more than {MaxJson} bytes");
                ms.Write(buffer, 0, n);
            }
            json = ms.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new SupplyException($"{what}: .dep-v0 is not zlib data: {e.Message}", e);
        }
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (!doc.RootElement.TryGetProperty("packages", out var ps) || ps.ValueKind != JsonValueKind.Array) return null;
            var crates = new List<Crate>();
            foreach (var p in ps.EnumerateArray())
            {
                string? S(string k) => p.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                if (S("name") is not { Length: > 0 } name || S("version") is not { Length: > 0 } version) continue;
                crates.Add(new Crate(name, version, S("source"), S("kind") ?? "runtime", p.TryGetProperty("root", out var r) && r.ValueKind == JsonValueKind.True));
            }
            return crates;
        }
        catch (JsonException e)
        {
            throw new SupplyException($"{what}: .dep-v0 is not JSON: {e.Message}", e);
        }
    }
}
