namespace Berth.Serve.Policy;

/// <summary>A policy file that cannot be used: the file, the line and the field, and why.</summary>
public sealed class PolicyException(string message) : Exception(message)
{
}
