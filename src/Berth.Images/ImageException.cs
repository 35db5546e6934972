namespace Berth.Images;

/// <summary>An image operation that cannot proceed: a missing reference, a bad blob, a layer that breaks the rules.</summary>
public sealed class ImageException : Exception
{
    public ImageException(string message, Exception? inner = null) : base(message, inner) { }
}
