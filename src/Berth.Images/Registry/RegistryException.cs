using System.Net;

namespace Berth.Images.Registry;

/// <summary>
/// A registry operation that failed, as one line: the reference (or registry) it was for, what was
/// being done, and why — the distribution spec's error code and message when the registry sent one
/// ("docker.io/library/nope:latest: reading manifest: MANIFEST_UNKNOWN: manifest unknown").
/// </summary>
public sealed class RegistryException : Exception
{
    /// <summary>The distribution spec error code (MANIFEST_UNKNOWN, DENIED, …), or null when the failure was not the registry's answer.</summary>
    public string? Code { get; }

    /// <summary>The HTTP status of the answer that failed the operation, if there was one.</summary>
    public HttpStatusCode? Status { get; }

    public RegistryException(string message, string? code = null, HttpStatusCode? status = null, Exception? inner = null)
        : base(Quote.Line(message), inner)
    {
        Code = code;
        Status = status;
    }

    /// <summary>The registry answered that the thing asked for does not exist (manifest, blob, repository, or a plain 404).</summary>
    public bool IsNotFound => Code is ErrorCodes.ManifestUnknown or ErrorCodes.BlobUnknown or ErrorCodes.NameUnknown
        || (Code is null && Status == HttpStatusCode.NotFound);
}
