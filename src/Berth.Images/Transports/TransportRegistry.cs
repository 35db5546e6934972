namespace Berth.Images.Transports;

/// <summary>
/// Maps a reference's prefix to its transport: "oci:PATH:REF" goes to the transport named "oci".
/// Text with no registered prefix is a name in the default transport (Berth's store).
/// </summary>
/// <remarks>
/// The extension point: a new transport is one class deriving <see cref="ImageTransport"/>, its
/// references opening an <see cref="IImageSource"/> and an <see cref="IImageDestination"/>, and one
/// <see cref="Register"/> call where <see cref="ImageService"/> builds its registry. "docker" (the
/// registry client, "docker://HOST/NAME:TAG") is left unregistered here for that: until it is, a
/// reference with "://" is refused as an unknown transport instead of being taken for a store name.
/// </remarks>
public sealed class TransportRegistry
{
    readonly Dictionary<string, ImageTransport> _byName = new(StringComparer.Ordinal);
    readonly ImageTransport _default;

    public TransportRegistry(ImageTransport defaultTransport) => _default = defaultTransport;

    public IEnumerable<string> Names => _byName.Keys.Order(StringComparer.Ordinal);

    public TransportRegistry Register(ImageTransport transport)
    {
        if (!_byName.TryAdd(transport.Name, transport)) throw new InvalidOperationException($"transport {transport.Name} registered twice");
        return this;
    }

    public ImageTransport? Find(string name) => _byName.GetValueOrDefault(name);

    public ImageReference Parse(string text)
    {
        if (text.Length == 0) throw new ImageException("an image reference is required");
        int colon = text.IndexOf(':');
        if (colon > 0 && _byName.TryGetValue(text[..colon], out var transport)) return transport.Parse(text[(colon + 1)..]);
        if (text.IndexOf("://", StringComparison.Ordinal) is var scheme and > 0)
            throw new ImageException($"{Quote.Of(text)}: unknown transport {Quote.Of(text[..scheme])} (known: {string.Join(", ", Names.Select(n => n + ":"))} and store names)");
        return _default.Parse(text);
    }
}
