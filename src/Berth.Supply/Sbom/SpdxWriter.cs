using System.Text.Json;
using Berth.Supply.Packages;

namespace Berth.Supply.Sbom;

/// <summary>
/// SPDX 2.3 JSON (spdx.github.io/spdx-spec/v2.3): the document DESCRIBES one package for the
/// image or directory, which CONTAINS every cataloged package (and the OS, as an OPERATING_SYSTEM package).
/// </summary>
public static class SpdxWriter
{
    public static byte[] Write(Inventory inv, SbomOptions options)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            var fingerprint = StableIds.Fingerprint(inv);
            w.WriteStartObject();
            w.WriteString("spdxVersion", "SPDX-2.3");
            w.WriteString("dataLicense", "CC0-1.0");
            w.WriteString("SPDXID", "SPDXRef-DOCUMENT");
            w.WriteString("name", inv.Source);
            w.WriteString("documentNamespace", $"https://berth.invalid/spdx/{StableIds.SpdxSafe(inv.Source)}-{fingerprint}");
            w.WriteStartObject("creationInfo");
            w.WriteString("created", options.CreatedText);
            w.WriteStartArray("creators");
            w.WriteStringValue($"Tool: berth-{options.ToolVersion}");
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartArray("documentDescribes");
            w.WriteStringValue("SPDXRef-Root");
            w.WriteEndArray();

            var ids = new List<string>();
            w.WriteStartArray("packages");
            w.WriteStartObject();
            w.WriteString("name", inv.Source);
            w.WriteString("SPDXID", "SPDXRef-Root");
            if (inv.ImageDigest is not null) w.WriteString("versionInfo", inv.ImageDigest);
            w.WriteString("downloadLocation", "NOASSERTION");
            w.WriteBoolean("filesAnalyzed", false);
            w.WriteString("primaryPackagePurpose", inv.ImageDigest is null ? "FILE" : "CONTAINER");
            w.WriteEndObject();
            if (inv.Os is { } os)
            {
                ids.Add("SPDXRef-OperatingSystem");
                w.WriteStartObject();
                w.WriteString("name", os.Id);
                w.WriteString("SPDXID", "SPDXRef-OperatingSystem");
                if (os.VersionId is not null) w.WriteString("versionInfo", os.VersionId);
                w.WriteString("downloadLocation", "NOASSERTION");
                w.WriteBoolean("filesAnalyzed", false);
                if (os.PrettyName is not null) w.WriteString("description", os.PrettyName);
                w.WriteString("primaryPackagePurpose", "OPERATING_SYSTEM");
                w.WriteEndObject();
            }
            foreach (var p in inv.Packages)
            {
                var id = PackageId(p);
                ids.Add(id);
                w.WriteStartObject();
                w.WriteString("name", p.Namespace is not null && p.Type == "npm" ? $"{p.Namespace}/{p.Name}" : p.Name);
                w.WriteString("SPDXID", id);
                w.WriteString("versionInfo", p.Version);
                w.WriteString("supplier", p.Supplier is { Length: > 0 } s ? Supplier(s) : "NOASSERTION");
                w.WriteString("downloadLocation", "NOASSERTION");
                w.WriteBoolean("filesAnalyzed", false);
                w.WriteString("licenseConcluded", "NOASSERTION");
                w.WriteString("licenseDeclared", p.License ?? "NOASSERTION");
                w.WriteString("copyrightText", "NOASSERTION");
                w.WriteString("sourceInfo", $"{p.FoundBy} cataloger: {p.Location}" + (p.Layer is null ? "" : $" (layer {p.Layer})"));
                w.WriteStartArray("externalRefs");
                foreach (var cpe in p.Cpes)
                {
                    w.WriteStartObject();
                    w.WriteString("referenceCategory", "SECURITY");
                    w.WriteString("referenceType", "cpe23Type");
                    w.WriteString("referenceLocator", cpe);
                    w.WriteEndObject();
                }
                w.WriteStartObject();
                w.WriteString("referenceCategory", "PACKAGE-MANAGER");
                w.WriteString("referenceType", "purl");
                w.WriteString("referenceLocator", p.Purl);
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteString("primaryPackagePurpose", "LIBRARY");
                w.WriteEndObject();
            }
            w.WriteEndArray();

            // The files each package manager lists with a digest (SPDX 2.3 §8 requires a checksum of every file), each CONTAINed by its package.
            var contains = new List<(string Package, string File)>();
            w.WriteStartArray("files");
            foreach (var p in inv.Packages)
            {
                var pid = PackageId(p);
                foreach (var f in p.Files)
                {
                    if (f.Digest is null || f.Algorithm is null) continue;
                    var fid = $"SPDXRef-File-{StableIds.Hex(p.Key + "\u0000" + f.Path)}";
                    contains.Add((pid, fid));
                    w.WriteStartObject();
                    w.WriteString("fileName", f.Path);
                    w.WriteString("SPDXID", fid);
                    w.WriteStartArray("checksums");
                    w.WriteStartObject();
                    w.WriteString("algorithm", f.Algorithm);
                    w.WriteString("checksumValue", f.Digest);
                    w.WriteEndObject();
                    w.WriteEndArray();
                    w.WriteString("licenseConcluded", "NOASSERTION");
                    w.WriteString("copyrightText", "NOASSERTION");
                    w.WriteEndObject();
                }
            }
            w.WriteEndArray();

            // Every LicenseRef an expression uses is declared, as SPDX 2.3 §10 requires; its text is the name the package gave.
            var refs = inv.Packages.Where(p => p.License is not null)
                .SelectMany(p => p.License!.Split(' ', '(', ')').Where(t => t.StartsWith("LicenseRef-", StringComparison.Ordinal)))
                .Distinct().Order(StringComparer.Ordinal).ToList();
            if (refs.Count > 0)
            {
                w.WriteStartArray("hasExtractedLicensingInfos");
                foreach (var r in refs)
                {
                    w.WriteStartObject();
                    w.WriteString("licenseId", r);
                    w.WriteString("name", r["LicenseRef-".Length..]);
                    w.WriteString("extractedText", $"The license the package metadata names \"{r["LicenseRef-".Length..]}\" (no SPDX identifier).");
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }

            w.WriteStartArray("relationships");
            Relationship(w, "SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Root");
            foreach (var id in ids) Relationship(w, "SPDXRef-Root", "CONTAINS", id);
            foreach (var (pkg, file) in contains) Relationship(w, pkg, "CONTAINS", file);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        ms.WriteByte((byte)'\n');
        return ms.ToArray();
    }

    /// <summary>SPDXRef-Package-TYPE-NAME-HASH: readable, and unique because the hash is over the package's key.</summary>
    public static string PackageId(Package p) => $"SPDXRef-Package-{p.Type}-{StableIds.SpdxSafe(p.Name)}-{StableIds.Hex(p.Key)}";

    // SPDX's supplier is "Person: NAME (EMAIL)" or "Organization: ...".
    static string Supplier(string s) => "Person: " + s.Replace('\n', ' ').Trim();

    static void Relationship(Utf8JsonWriter w, string from, string type, string to)
    {
        w.WriteStartObject();
        w.WriteString("spdxElementId", from);
        w.WriteString("relationshipType", type);
        w.WriteString("relatedSpdxElement", to);
        w.WriteEndObject();
    }
}
