namespace Berth.Runtime;

/// <summary>
/// A runtime operation that cannot proceed. The message is what the user (or a client such as
/// containerd, which matches "does not exist" and "container not running") reads.
/// </summary>
public sealed class RuntimeException : Exception
{
    public RuntimeException(string message, Exception? inner = null) : base(message, inner) { }

    public static RuntimeException NotExist(string id) => new($"container \"{id}\" does not exist");
    public static RuntimeException NotRunning(string id) => new($"container not running: {id}");
}
