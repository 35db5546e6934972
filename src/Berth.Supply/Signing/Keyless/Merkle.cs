using System.Security.Cryptography;

namespace Berth.Supply.Signing.Keyless;

/// <summary>RFC 6962 Merkle tree hashes and inclusion proofs (RFC 9162 §2.1.3.2's verification algorithm).</summary>
public static class Merkle
{
    public static byte[] LeafHash(ReadOnlySpan<byte> leaf)
    {
        var buf = new byte[leaf.Length + 1];
        leaf.CopyTo(buf.AsSpan(1));
        return SHA256.HashData(buf);
    }

    public static byte[] NodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        var buf = new byte[1 + left.Length + right.Length];
        buf[0] = 1;
        left.CopyTo(buf.AsSpan(1));
        right.CopyTo(buf.AsSpan(1 + left.Length));
        return SHA256.HashData(buf);
    }

    /// <summary>The root an inclusion proof of leaf <paramref name="index"/> in a tree of <paramref name="treeSize"/> leaves computes to.</summary>
    public static byte[] RootFromInclusionProof(long index, long treeSize, byte[] leafHash, IReadOnlyList<byte[]> proof)
    {
        if (index < 0 || index >= treeSize) throw new SupplyException($"inclusion proof: log index {index} is outside the tree of {treeSize}");
        long fn = index, sn = treeSize - 1;
        var r = leafHash;
        foreach (var p in proof)
        {
            if (sn == 0) throw new SupplyException("inclusion proof: more hashes than the tree has levels");
            if ((fn & 1) == 1 || fn == sn)
            {
                r = NodeHash(p, r);
                if ((fn & 1) == 0)
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
            }
            else r = NodeHash(r, p);
            fn >>= 1;
            sn >>= 1;
        }
        if (sn != 0) throw new SupplyException("inclusion proof: fewer hashes than the tree has levels");
        return r;
    }
}
