using System.Text;

namespace Berth.Supply.Signing.Keyless;

/// <summary>
/// A transparency log checkpoint (a signed note): "ORIGIN\nSIZE\nBASE64ROOT\n[…]\n\n— NAME BASE64(KEYHINT‖SIG)\n".
/// The log's signature is over the text before the blank line; the size and root must be the proof's.
/// </summary>
public static class Checkpoint
{
    public static void Verify(string note, VerificationKey logKey, long treeSize, byte[] rootHash)
    {
        int split = note.IndexOf("\n\n", StringComparison.Ordinal);
        if (split < 0) throw new SupplyException("checkpoint: no signature lines");
        var text = note[..(split + 1)];
        var lines = text.Split('\n');
        if (lines.Length < 4) throw new SupplyException("checkpoint: fewer than three lines");
        if (lines[1] != treeSize.ToString(System.Globalization.CultureInfo.InvariantCulture)) throw new SupplyException($"checkpoint: tree size {lines[1]}, the proof's is {treeSize}");
        if (lines[2] != Convert.ToBase64String(rootHash)) throw new SupplyException("checkpoint: its root hash is not the proof's");
        var data = Encoding.UTF8.GetBytes(text);
        foreach (var sigLine in note[(split + 2)..].Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!sigLine.StartsWith("\u2014 ", StringComparison.Ordinal)) continue;
            var parts = sigLine[2..].Split(' ');
            if (parts.Length != 2) continue;
            byte[] raw;
            try { raw = Convert.FromBase64String(parts[1]); }
            catch (FormatException) { continue; }
            if (raw.Length > 4 && logKey.Verify(data, raw.AsSpan(4))) return;
        }
        throw new SupplyException("checkpoint: no signature verifies with the log's key");
    }
}
