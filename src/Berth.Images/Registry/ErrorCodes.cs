using System.Net;
using System.Text;
using System.Text.Json;

namespace Berth.Images.Registry;

/// <summary>
/// The distribution spec's error codes (spec.md, "Error Codes") and the body that carries them:
/// {"errors":[{"code":"…","message":"…","detail":…}]}.
/// </summary>
public static class ErrorCodes
{
    public const string BlobUnknown = "BLOB_UNKNOWN";
    public const string BlobUploadInvalid = "BLOB_UPLOAD_INVALID";
    public const string BlobUploadUnknown = "BLOB_UPLOAD_UNKNOWN";
    public const string DigestInvalid = "DIGEST_INVALID";
    public const string ManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN";
    public const string ManifestInvalid = "MANIFEST_INVALID";
    public const string ManifestUnknown = "MANIFEST_UNKNOWN";
    public const string NameInvalid = "NAME_INVALID";
    public const string NameUnknown = "NAME_UNKNOWN";
    public const string SizeInvalid = "SIZE_INVALID";
    public const string Unauthorized = "UNAUTHORIZED";
    public const string Denied = "DENIED";
    public const string Unsupported = "UNSUPPORTED";
    public const string TooManyRequests = "TOOMANYREQUESTS";

    /// <summary>What a code means, for the line shown when the registry sent no message of its own.</summary>
    public static string Describe(string code) => code switch
    {
        BlobUnknown => "blob unknown to registry",
        BlobUploadInvalid => "blob upload invalid",
        BlobUploadUnknown => "blob upload unknown to registry",
        DigestInvalid => "provided digest did not match uploaded content",
        ManifestBlobUnknown => "manifest references a manifest or blob unknown to registry",
        ManifestInvalid => "manifest invalid",
        ManifestUnknown => "manifest unknown",
        NameInvalid => "invalid repository name",
        NameUnknown => "repository name not known to registry",
        SizeInvalid => "provided length did not match content length",
        Unauthorized => "authentication required",
        Denied => "requested access to the resource is denied",
        Unsupported => "the operation is unsupported",
        TooManyRequests => "too many requests",
        _ => code.ToLowerInvariant().Replace('_', ' '),
    };

    /// <summary>The first error of a spec error body; null when the body is not one (an HTML page, a proxy's text).</summary>
    public static (string Code, string Message)? Parse(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty) return null;
        try
        {
            using var doc = JsonDocument.Parse(body.ToArray());
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("errors", out var errors)
                || errors.ValueKind != JsonValueKind.Array) return null;
            foreach (var e in errors.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Object) continue;
                var code = e.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "UNKNOWN";
                var message = e.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "";
                return (code, message);
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }

    /// <summary>
    /// The one line for a failed answer: "WHAT: OPERATION: CODE: message", or the HTTP status and the
    /// start of the body when the registry sent no spec error.
    /// </summary>
    public static RegistryException ToException(string what, string operation, HttpStatusCode status, ReadOnlySpan<byte> body)
    {
        if (Parse(body) is var (code, message))
        {
            var text = message.Length == 0 ? Describe(code) : message;
            var hint = code switch
            {
                Unauthorized => " (log in with `berth login`, or check the credentials)",
                TooManyRequests => " (the registry's rate limit; retry later)",
                _ => "",
            };
            return new RegistryException($"{what}: {operation}: {code}: {text}{hint}", code, status);
        }
        var snippet = Encoding.UTF8.GetString(body[..Math.Min(body.Length, 200)]).Trim();
        var reason = status switch
        {
            HttpStatusCode.Unauthorized => "authentication required (log in with `berth login`, or check the credentials)",
            HttpStatusCode.Forbidden => "access denied",
            HttpStatusCode.NotFound => "not found",
            HttpStatusCode.TooManyRequests => "too many requests (the registry's rate limit; retry later)",
            _ => $"the registry answered {(int)status} {status}",
        };
        var fallbackCode = status switch
        {
            HttpStatusCode.Unauthorized => Unauthorized,
            HttpStatusCode.Forbidden => Denied,
            HttpStatusCode.TooManyRequests => TooManyRequests,
            _ => null,
        };
        return new RegistryException($"{what}: {operation}: {reason}{(snippet.Length > 0 && fallbackCode is null && status != HttpStatusCode.NotFound ? $": {snippet}" : "")}",
            fallbackCode, status);
    }
}
