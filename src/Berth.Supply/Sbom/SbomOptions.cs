namespace Berth.Supply.Sbom;

/// <summary>
/// How a document is written. <see cref="Created"/> is the time it claims: by default a fixed
/// instant (SOURCE_DATE_EPOCH when set, else the Unix epoch), so that one image gives one document.
/// </summary>
public sealed record SbomOptions(DateTimeOffset Created, string ToolVersion)
{
    public static DateTimeOffset DefaultCreated()
    {
        var epoch = Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH");
        return epoch is { Length: > 0 } && long.TryParse(epoch, out var s) ? DateTimeOffset.FromUnixTimeSeconds(s) : DateTimeOffset.UnixEpoch;
    }

    public string CreatedText => Created.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
