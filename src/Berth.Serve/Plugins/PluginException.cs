namespace Berth.Serve.Plugins;

/// <summary>A plugin that could not answer: which plugin, what it was asked, and why (its own error, its exit status, a timeout).</summary>
public sealed class PluginException(string message) : Exception(message)
{
}
