namespace Berth.Serve;

/// <summary>The service's one error type: an HTTP status for a request's failure (0: a start-up error, printed as `berth-serve: …`).</summary>
public sealed class ServeException(int status, string message, Exception? inner = null) : Exception(message, inner)
{
    public int Status { get; } = status;
}
