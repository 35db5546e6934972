using System.Text;

namespace Berth.Cli;

/// <summary>
/// Standard output without System.Console: one write(2) per result, no encoder or terminal
/// set-up on the path of `state`, which engines call constantly.
/// </summary>
public static class Output
{
    static readonly Linux.SafeFd Stdout = new(1, ownsHandle: false);

    public static void Write(ReadOnlySpan<byte> bytes) => Linux.Files.WriteAll(Stdout, bytes, "stdout");

    public static void Write(string text) => Write(Encoding.UTF8.GetBytes(text));

    /// <summary>A document and its newline in one write.</summary>
    public static void WriteLine(ReadOnlySpan<byte> bytes)
    {
        var line = new byte[bytes.Length + 1];
        bytes.CopyTo(line);
        line[^1] = (byte)'\n';
        Write(line);
    }
}
