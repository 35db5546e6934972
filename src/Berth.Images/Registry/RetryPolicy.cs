using System.Net;
using System.Net.Http.Headers;

namespace Berth.Images.Registry;

/// <summary>
/// When a failed request is tried again: on a connection that failed or was reset, on 429 and on
/// 500/502/503/504; after Retry-After when the registry sends one (capped), else an exponential
/// backoff; never more than <see cref="MaxAttempts"/> tries nor past <see cref="MaxTotal"/>.
/// </summary>
public sealed record RetryPolicy(int MaxAttempts, TimeSpan BaseDelay, TimeSpan MaxDelay, TimeSpan MaxTotal, TimeSpan MaxRetryAfter)
{
    /// <summary>5 tries, 0.5 s doubling to 8 s, 2 minutes in all, Retry-After up to 60 s (containers/image's common.Retry uses 3 tries from 2 s; a pull of many blobs wants a little more).</summary>
    public static RetryPolicy Default { get; } = new(5, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(8), TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(60));

    public static RetryPolicy None { get; } = new(1, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);

    public static bool IsRetryable(HttpStatusCode status) =>
        status is HttpStatusCode.TooManyRequests or HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway
            or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    /// <summary>The wait before try number <paramref name="attempt"/>+1 (attempt counts from 1).</summary>
    public TimeSpan Backoff(int attempt)
    {
        var ms = BaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1);
        // A little jitter, so parallel transfers that failed together do not come back together.
        ms *= 0.8 + Random.Shared.NextDouble() * 0.4;
        return TimeSpan.FromMilliseconds(Math.Min(ms, MaxDelay.TotalMilliseconds));
    }

    /// <summary>The registry's Retry-After (seconds or an HTTP date), capped; null when it sent none.</summary>
    public TimeSpan? RetryAfter(RetryConditionHeaderValue? header)
    {
        if (header is null) return null;
        TimeSpan? wait = header.Delta ?? (header.Date is { } date ? date - DateTimeOffset.UtcNow : null);
        if (wait is not { } w) return null;
        if (w < TimeSpan.Zero) w = TimeSpan.Zero;
        return w > MaxRetryAfter ? MaxRetryAfter : w;
    }
}
