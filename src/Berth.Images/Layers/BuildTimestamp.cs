using System.Globalization;

namespace Berth.Images.Layers;

/// <summary>
/// A build made reproducible (`--timestamp T`, else $SOURCE_DATE_EPOCH, reproducible-builds.org's
/// variable): layer entries' mtimes clamped to T (a file older than T keeps its own time, as
/// BuildKit's rewrite-timestamp does), gzip written with MTIME 0 and OS 255, and the config's
/// `created` and the build's history entries at T. With neither, builds are as before.
/// </summary>
public readonly record struct BuildTimestamp(long UnixSeconds)
{
    /// <summary>The flag's value, else the environment's; null when neither is set. A value that is not whole seconds since the epoch is an error naming where it came from.</summary>
    public static BuildTimestamp? Resolve(string? timestampFlag, string? sourceDateEpoch)
    {
        if (timestampFlag is not null) return Parse(timestampFlag, "--timestamp");
        if (!string.IsNullOrEmpty(sourceDateEpoch)) return Parse(sourceDateEpoch, "SOURCE_DATE_EPOCH");
        return null;
    }

    static BuildTimestamp Parse(string text, string what) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long s) && s <= 253402300799 /* 9999-12-31 */
            ? new BuildTimestamp(s)
            : throw new ImageException($"{what} \"{text}\": not a number of seconds since the epoch (1970-01-01 UTC)");

    /// <summary>RFC 3339 in UTC, whole seconds: what the image config's `created` holds.</summary>
    public string Created => DateTimeOffset.FromUnixTimeSeconds(UnixSeconds).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>An entry's mtime in the layer: its own, or T when it is later.</summary>
    public long Clamp(long mtime) => Math.Min(mtime, UnixSeconds);

    /// <summary>`created` for a config or history entry made now: T when reproducible, else the time given.</summary>
    public static string CreatedOr(BuildTimestamp? t, DateTimeOffset now) =>
        t?.Created ?? now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
}
