using System.Security.Cryptography;

namespace Berth.Oci.Image;

/// <summary>A content digest, "algorithm:encoded" (image-spec descriptor.md). sha256 and sha512 are verified.</summary>
public readonly record struct Digest(string Algorithm, string Encoded)
{
    public override string ToString() => $"{Algorithm}:{Encoded}";

    public static Digest Parse(string text, string field = "digest")
    {
        int colon = text.IndexOf(':');
        if (colon <= 0 || colon == text.Length - 1) throw new SpecException(field, $"\"{text}\" is not algorithm:encoded");
        var alg = text[..colon];
        var enc = text[(colon + 1)..];
        if (!alg.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '+' or '.' or '_' or '-'))
            throw new SpecException(field, $"\"{alg}\" is not a digest algorithm");
        int length = alg switch { "sha256" => 64, "sha512" => 128, _ => throw new SpecException(field, $"algorithm \"{alg}\" is not supported (sha256, sha512)") };
        if (enc.Length != length || !enc.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
            throw new SpecException(field, $"\"{text}\" is not a {alg} digest ({length} lowercase hex digits)");
        return new Digest(alg, enc);
    }

    public static IncrementalHash NewHash(string algorithm) => IncrementalHash.CreateHash(algorithm == "sha512" ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256);

    public IncrementalHash NewHash() => NewHash(Algorithm);

    /// <summary>The digest of what <paramref name="hash"/> has seen (and resets it).</summary>
    public static Digest From(string algorithm, IncrementalHash hash) => new(algorithm, Convert.ToHexStringLower(hash.GetHashAndReset()));
}
