using System.Text.Json;
using Berth.Serve.Auth;
using Microsoft.AspNetCore.Http;

namespace Berth.Serve.Http;

/// <summary>One route's entry in /openapi.json: JSON Schema text (object literals) spliced in as they are.</summary>
public sealed record OpenApiOperation(string Summary, string? RequestSchemaJson, string ResponseSchemaJson);

/// <summary>A registered route: auth is checked before the handler runs (401 without a known caller, 403 without the role).</summary>
public sealed record Route(string Method, string Path, Role? Role, Func<Request, Task> Handler, OpenApiOperation Doc);

public sealed class Routes
{
    readonly List<Route> _routes = new();
    public IReadOnlyList<Route> All => _routes;

    public void Map(string method, string path, Role role, Func<Request, Task> handler, OpenApiOperation doc) => _routes.Add(new(method, path, role, handler, doc));

    /// <summary>Probes and documents anyone may read: /healthz, /readyz, /metrics, /openapi.json.</summary>
    public void MapPublic(string method, string path, Func<Request, Task> handler, OpenApiOperation doc) => _routes.Add(new(method, path, null, handler, doc));
}

/// <summary>One request as a handler sees it.</summary>
public sealed class Request(HttpContext http, Caller caller)
{
    public const int MaxBody = 1 << 20;
    public HttpContext Http { get; } = http;
    public Caller Caller { get; } = caller;

    public string? RouteValue(string name) => Http.Request.RouteValues.TryGetValue(name, out var v) ? v as string : null;

    /// <summary>The body as JSON (at most 1 MiB); a bad one is a 400 naming the problem.</summary>
    public async Task<JsonDocument> ReadJsonAsync()
    {
        if (Http.Request.ContentLength > MaxBody) throw new ServeException(413, $"request body: over {MaxBody} bytes");
        using var ms = new MemoryStream();
        var buffer = new byte[16384];
        int n;
        while ((n = await Http.Request.Body.ReadAsync(buffer)) > 0)
        {
            if (ms.Length + n > MaxBody) throw new ServeException(413, $"request body: over {MaxBody} bytes");
            ms.Write(buffer, 0, n);
        }
        try { return JsonDocument.Parse(ms.ToArray()); }
        catch (JsonException e) { throw new ServeException(400, $"request body: not JSON: {e.Message}"); }
    }

    /// <summary>A required string member of the body's top object.</summary>
    public static string RequiredString(JsonDocument doc, string name)
    {
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ServeException(400, "request body: expected a JSON object");
        if (!doc.RootElement.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(v.GetString()))
            throw new ServeException(400, $"request body: \"{name}\" (a non-empty string) is required");
        return v.GetString()!;
    }

    public async Task WriteJsonAsync(int status, Action<Utf8JsonWriter> body)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping })) body(w);
        ms.WriteByte((byte)'\n');
        Http.Response.StatusCode = status;
        Http.Response.ContentType = "application/json";
        await Http.Response.Body.WriteAsync(ms.GetBuffer().AsMemory(0, (int)ms.Length));
    }

    public Task WriteErrorAsync(int status, string message) => WriteError(Http, status, message);

    public static async Task WriteError(HttpContext http, int status, string message)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) { w.WriteStartObject(); w.WriteString("error", message); w.WriteEndObject(); }
        ms.WriteByte((byte)'\n');
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.Body.WriteAsync(ms.GetBuffer().AsMemory(0, (int)ms.Length));
    }
}
