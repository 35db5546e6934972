using System.Text.Json;
using Berth.Supply.Packages;

namespace Berth.Supply.Sbom;

/// <summary>
/// CycloneDX 1.5 JSON (cyclonedx.org/docs/1.5/json): metadata.component is the image or directory,
/// components are the OS and the packages, each with its purl, CPE, license expression and, as
/// berth:* properties, where it was found and the layer that introduced it.
/// </summary>
public static class CycloneDxWriter
{
    public static byte[] Write(Inventory inv, SbomOptions options)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("$schema", "http://cyclonedx.org/schema/bom-1.5.schema.json");
            w.WriteString("bomFormat", "CycloneDX");
            w.WriteString("specVersion", "1.5");
            w.WriteString("serialNumber", "urn:uuid:" + StableIds.Uuid(StableIds.Fingerprint(inv)).ToString("D"));
            w.WriteNumber("version", 1);
            w.WriteStartObject("metadata");
            w.WriteString("timestamp", options.CreatedText);
            w.WriteStartObject("tools");
            w.WriteStartArray("components");
            w.WriteStartObject();
            w.WriteString("type", "application");
            w.WriteString("name", "berth");
            w.WriteString("version", options.ToolVersion);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartObject("component");
            w.WriteString("bom-ref", "root");
            w.WriteString("type", inv.ImageDigest is null ? "file" : "container");
            w.WriteString("name", inv.Source);
            if (inv.ImageDigest is not null) w.WriteString("version", inv.ImageDigest);
            w.WriteEndObject();
            w.WriteEndObject();

            w.WriteStartArray("components");
            if (inv.Os is { } os)
            {
                w.WriteStartObject();
                w.WriteString("bom-ref", "os:" + os.Id);
                w.WriteString("type", "operating-system");
                w.WriteString("name", os.Id);
                if (os.VersionId is not null) w.WriteString("version", os.VersionId);
                if (os.PrettyName is not null) w.WriteString("description", os.PrettyName);
                w.WriteEndObject();
            }
            foreach (var p in inv.Packages)
            {
                w.WriteStartObject();
                w.WriteString("bom-ref", BomRef(p));
                w.WriteString("type", "library");
                if (p.Supplier is { Length: > 0 } s)
                {
                    w.WriteStartObject("supplier");
                    w.WriteString("name", s.Replace('\n', ' ').Trim());
                    w.WriteEndObject();
                }
                if (p.Namespace is not null && p.Type == "npm") w.WriteString("group", p.Namespace);
                w.WriteString("name", p.Name);
                w.WriteString("version", p.Version);
                if (p.License is not null)
                {
                    w.WriteStartArray("licenses");
                    w.WriteStartObject();
                    w.WriteString("expression", p.License);
                    w.WriteEndObject();
                    w.WriteEndArray();
                }
                if (p.Cpes.Count > 0) w.WriteString("cpe", p.Cpes[0]);
                w.WriteString("purl", p.Purl);
                w.WriteStartArray("properties");
                Property(w, "berth:package:type", p.Type);
                Property(w, "berth:cataloger", p.FoundBy);
                Property(w, "berth:location", p.Location);
                if (p.Layer is not null) Property(w, "berth:layer", p.Layer);
                if (p.SourceName is not null && p.SourceName != p.Name) Property(w, "berth:source-name", p.SourceName);
                if (p.Files.Count > 0) Property(w, "berth:files", p.Files.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
                w.WriteEndArray();
                if (p.Files.Count > 0) Files(w, p);
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartArray("dependencies");
            w.WriteStartObject();
            w.WriteString("ref", "root");
            w.WriteStartArray("dependsOn");
            foreach (var p in inv.Packages) w.WriteStringValue(BomRef(p));
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        ms.WriteByte((byte)'\n');
        return ms.ToArray();
    }

    /// <summary>The purl, made unique by a hash of the key when one purl is found in several places.</summary>
    public static string BomRef(Package p) => $"{p.Purl}#{StableIds.Hex(p.Key, 8)}";

    /// <summary>The files the package manager lists, as nested components of type file, with its digest of each as a hash.</summary>
    static void Files(Utf8JsonWriter w, Package p)
    {
        w.WriteStartArray("components");
        foreach (var f in p.Files)
        {
            w.WriteStartObject();
            w.WriteString("type", "file");
            w.WriteString("bom-ref", $"file:{StableIds.Hex(p.Key + "\u0000" + f.Path)}");
            w.WriteString("name", f.Path);
            if (f.Digest is not null && HashAlgorithm(f.Algorithm) is { } alg)
            {
                w.WriteStartArray("hashes");
                w.WriteStartObject();
                w.WriteString("alg", alg);
                w.WriteString("content", f.Digest);
                w.WriteEndObject();
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    static string? HashAlgorithm(string? spdx) => spdx switch
    {
        "MD5" => "MD5", "SHA1" => "SHA-1", "SHA256" => "SHA-256", "SHA384" => "SHA-384", "SHA512" => "SHA-512", _ => null,
    };

    static void Property(Utf8JsonWriter w, string name, string value)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("value", value);
        w.WriteEndObject();
    }
}
