using System.Text.Json;

namespace Berth.Serve.Http;

/// <summary>/openapi.json: an OpenAPI 3.0 document of every registered route, the modules' included.</summary>
public static class OpenApiDocument
{
    public static byte[] Write(IReadOnlyList<Route> routes, string version)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("openapi", "3.0.3");
            w.WriteStartObject("info");
            w.WriteString("title", "berth serve");
            w.WriteString("version", version);
            w.WriteString("description", "Berth's scanning and signing service: scans, promotion by policy, VEX, audit and admission.");
            w.WriteEndObject();
            w.WriteStartObject("components");
            w.WriteStartObject("securitySchemes");
            w.WriteStartObject("bearer"); w.WriteString("type", "http"); w.WriteString("scheme", "bearer"); w.WriteEndObject();
            w.WriteStartObject("mtls"); w.WriteString("type", "mutualTLS"); w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject("paths");
            foreach (var group in routes.GroupBy(r => r.Path).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                w.WriteStartObject(group.Key);
                foreach (var r in group)
                {
                    w.WriteStartObject(r.Method.ToLowerInvariant());
                    w.WriteString("summary", r.Doc.Summary);
                    var parameters = Parameters(r.Path);
                    if (parameters.Count > 0)
                    {
                        w.WriteStartArray("parameters");
                        foreach (var p in parameters)
                        {
                            w.WriteStartObject();
                            w.WriteString("name", p); w.WriteString("in", "path"); w.WriteBoolean("required", true);
                            w.WriteStartObject("schema"); w.WriteString("type", "string"); w.WriteEndObject();
                            w.WriteEndObject();
                        }
                        w.WriteEndArray();
                    }
                    if (r.Role is { } role)
                    {
                        w.WriteStartArray("security");
                        w.WriteStartObject(); w.WriteStartArray("bearer"); w.WriteEndArray(); w.WriteEndObject();
                        w.WriteStartObject(); w.WriteStartArray("mtls"); w.WriteEndArray(); w.WriteEndObject();
                        w.WriteEndArray();
                        w.WriteString("x-berth-role", Auth.Roles.Name(role));
                    }
                    if (r.Doc.RequestSchemaJson is { } req)
                    {
                        w.WriteStartObject("requestBody");
                        w.WriteBoolean("required", true);
                        w.WriteStartObject("content"); w.WriteStartObject("application/json");
                        w.WritePropertyName("schema"); w.WriteRawValue(req);
                        w.WriteEndObject(); w.WriteEndObject();
                        w.WriteEndObject();
                    }
                    w.WriteStartObject("responses");
                    w.WriteStartObject(r.Method == "POST" && r.Path == "/scan" ? "202" : "200");
                    w.WriteString("description", "success");
                    w.WriteStartObject("content"); w.WriteStartObject(r.Path == "/metrics" ? "text/plain" : "application/json");
                    w.WritePropertyName("schema"); w.WriteRawValue(r.Doc.ResponseSchemaJson);
                    w.WriteEndObject(); w.WriteEndObject();
                    w.WriteEndObject();
                    foreach (var (code, what) in r.Role is null ? Array.Empty<(string, string)>() : new[] { ("400", "bad request"), ("401", "no or unknown token or client certificate"), ("403", "the caller lacks the role") })
                    {
                        w.WriteStartObject(code); w.WriteString("description", what); w.WriteEndObject();
                    }
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    static List<string> Parameters(string path) =>
        path.Split('/').Where(s => s.StartsWith('{') && s.EndsWith('}')).Select(s => s[1..^1].TrimStart('*').Split(':')[0]).ToList();
}
