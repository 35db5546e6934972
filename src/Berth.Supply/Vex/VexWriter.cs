using System.Text.Json;

namespace Berth.Supply.Vex;

/// <summary>`berth vex create`: one OpenVEX v0.2.0 document holding one statement.</summary>
public static class VexWriter
{
    public static byte[] Create(string vulnerability, IReadOnlyList<string> products, string status, string? justification, string? impact, string? action, string author, DateTimeOffset now)
    {
        if (!OpenVexStatement.Statuses.Contains(status)) throw new SupplyException($"--status: \"{status}\" is not one of {string.Join(", ", OpenVexStatement.Statuses)}");
        if (justification is not null && !OpenVexStatement.Justifications.Contains(justification))
            throw new SupplyException($"--justification: \"{justification}\" is not one of {string.Join(", ", OpenVexStatement.Justifications)}");
        if (status == "not_affected" && justification is null && impact is null) throw new SupplyException("not_affected needs --justification or --impact");
        if (products.Count == 0) throw new SupplyException("--product: at least one purl is required");
        var time = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("@context", "https://openvex.dev/ns/v0.2.0");
            w.WriteString("@id", "https://openvex.dev/docs/public/vex-" + Sbom.StableIds.Hex(vulnerability + string.Join(',', products) + status + time, 32));
            w.WriteString("author", author);
            w.WriteString("timestamp", time);
            w.WriteNumber("version", 1);
            w.WriteStartArray("statements");
            w.WriteStartObject();
            w.WriteStartObject("vulnerability");
            w.WriteString("name", vulnerability);
            w.WriteEndObject();
            w.WriteStartArray("products");
            foreach (var p in products)
            {
                w.WriteStartObject();
                w.WriteString("@id", p);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("status", status);
            if (justification is not null) w.WriteString("justification", justification);
            if (impact is not null) w.WriteString("impact_statement", impact);
            if (action is not null) w.WriteString("action_statement", action);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        ms.WriteByte((byte)'\n');
        return ms.ToArray();
    }
}
