namespace Berth.Engine.Network;

/// <summary>A network operation refused or failed: one line naming the network, the flag value or the CNI plugin.</summary>
public sealed class NetworkException : Exception
{
    public NetworkException(string message) : base(message) { }
    public NetworkException(string message, Exception inner) : base(message, inner) { }
}
