using System.Security.Cryptography;

namespace Marketplace.Transparency;

// Followed: RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency), the iterative fn/sn algorithms, step for step;
// the team's reference note (shared/reference/transparency-log.md) transcribes both correctly. The RFC leaves the trivial cases open; as in
// transparency-dev/merkle, old size == new size needs an empty proof and equal roots, and we add that old size 0
// needs an empty proof and the empty-tree root (SHA-256("")).
// Everything here comes off the wire, so nothing throws: any malformed input is simply "does not verify".

/// <summary>
/// Checks RFC 9162 inclusion and consistency proofs against signed roots, without the tree. Sizes, index, proof length
/// and every hash length are checked; garbage input returns false rather than throwing.
/// </summary>
public static class MerkleVerifier
{
    private const int HashSize = MerkleTree.HashSize;

    /// <summary>
    /// True when <paramref name="proof"/> shows that <paramref name="leafHash"/> is leaf <paramref name="index"/> of
    /// the tree of <paramref name="treeSize"/> leaves whose root is <paramref name="root"/> (RFC 9162 §2.1.3.2).
    /// </summary>
    public static bool VerifyInclusion(byte[]? leafHash, long index, long treeSize, IReadOnlyList<byte[]>? proof, byte[]? root)
    {
        if (index < 0 || index >= treeSize || !IsHash(leafHash) || !IsHash(root) || proof is null)
            return false;
        var fn = (ulong)index;
        var sn = (ulong)(treeSize - 1);
        Span<byte> r = stackalloc byte[HashSize];
        leafHash.CopyTo(r);
        for (var i = 0; i < proof.Count; i++)
        {
            var p = proof[i];
            if (sn == 0 || !IsHash(p))
                return false;
            if ((fn & 1) == 1 || fn == sn)
            {
                MerkleTree.WriteNodeHash(p, r, r);
                while ((fn & 1) == 0 && fn != 0)
                {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
            else
            {
                MerkleTree.WriteNodeHash(r, p, r);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && CryptographicOperations.FixedTimeEquals(r, root);
    }

    /// <summary>
    /// True when <paramref name="proof"/> shows that the tree of <paramref name="oldSize"/> leaves with root
    /// <paramref name="oldRoot"/> is a prefix of the tree of <paramref name="newSize"/> leaves with root
    /// <paramref name="newRoot"/> (RFC 9162 §2.1.4.2).
    /// </summary>
    public static bool VerifyConsistency(long oldSize, long newSize, byte[]? oldRoot, byte[]? newRoot, IReadOnlyList<byte[]>? proof)
    {
        if (oldSize < 0 || newSize < oldSize || !IsHash(oldRoot) || !IsHash(newRoot) || proof is null)
            return false;
        if (oldSize == 0 && !CryptographicOperations.FixedTimeEquals(oldRoot, MerkleTree.EmptyRoot))
            return false;
        if (oldSize == newSize)
            return proof.Count == 0 && CryptographicOperations.FixedTimeEquals(oldRoot, newRoot);
        if (oldSize == 0)
            return proof.Count == 0;
        if (proof.Count == 0)
            return false;
        for (var i = 0; i < proof.Count; i++)
        {
            if (!IsHash(proof[i]))
                return false;
        }

        // Step 2: an old tree of 2^k leaves is a complete subtree whose hash the proof leaves out; prepend it
        // (virtually: node i of the RFC's array is proof[i - offset]).
        var offset = (oldSize & (oldSize - 1)) == 0 ? 1 : 0;
        var count = proof.Count + offset;
        var fn = (ulong)(oldSize - 1);
        var sn = (ulong)(newSize - 1);
        while ((fn & 1) == 1)
        {
            fn >>= 1;
            sn >>= 1;
        }
        Span<byte> fr = stackalloc byte[HashSize];
        Span<byte> sr = stackalloc byte[HashSize];
        (offset == 1 ? oldRoot : proof[0]).CopyTo(fr);
        fr.CopyTo(sr);
        for (var i = 1; i < count; i++)
        {
            var c = proof[i - offset];
            if (sn == 0)
                return false;
            if ((fn & 1) == 1 || fn == sn)
            {
                MerkleTree.WriteNodeHash(c, fr, fr);
                MerkleTree.WriteNodeHash(c, sr, sr);
                while ((fn & 1) == 0 && fn != 0)
                {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
            else
            {
                MerkleTree.WriteNodeHash(sr, c, sr);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0
            && CryptographicOperations.FixedTimeEquals(fr, oldRoot)
            && CryptographicOperations.FixedTimeEquals(sr, newRoot);
    }

    private static bool IsHash([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] byte[]? hash) => hash is { Length: HashSize };
}
