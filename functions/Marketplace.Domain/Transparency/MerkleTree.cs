using System.Numerics;
using System.Security.Cryptography;

namespace Marketplace.Transparency;

// Followed: RFC 6962 §2.1 (MTH), §2.1.1 (PATH) and §2.1.2 (PROOF/SUBPROOF), read in the RFC text itself; RFC 9162
// §2.1.1–2.1.4.1 defines the same tree and the same proofs. the team's reference note (shared/reference/transparency-log.md) agrees with
// both on hashing, k (largest power of two < n), PATH and SUBPROOF.
// Recursion depth is log2(n) (about 20 frames for a million leaves) and subtree hashes are written into stack
// buffers, so a root costs one allocation however large the tree.

/// <summary>
/// The RFC 6962 Merkle tree of the transparency log: SHA-256 with 0x00/0x01 domain separation, split at the largest
/// power of two smaller than n. Builds roots and proofs from the leaf hashes of the whole log.
/// </summary>
public static class MerkleTree
{
    /// <summary>Bytes in every leaf, node and root hash (SHA-256).</summary>
    public const int HashSize = 32;

    /// <summary>The root of the empty tree, <c>SHA-256("")</c> = e3b0c442…b855.</summary>
    public static byte[] EmptyRoot => SHA256.HashData(ReadOnlySpan<byte>.Empty);

    /// <summary>The leaf hash of one entry: <c>SHA-256(0x00 ‖ entry)</c>.</summary>
    public static byte[] LeafHash(ReadOnlySpan<byte> entry)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData([0x00]);
        sha.AppendData(entry);
        return sha.GetHashAndReset();
    }

    /// <summary>The interior node hash <c>SHA-256(0x01 ‖ left ‖ right)</c> of two 32-byte child hashes.</summary>
    public static byte[] NodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        if (left.Length != HashSize || right.Length != HashSize)
            throw new ArgumentException($"Node children are {HashSize}-byte hashes.");
        var node = new byte[HashSize];
        WriteNodeHash(left, right, node);
        return node;
    }

    /// <summary>The Merkle tree hash MTH of the given leaf hashes (any count; the empty list gives <see cref="EmptyRoot"/>).</summary>
    public static byte[] RootHash(IReadOnlyList<byte[]> leafHashes)
    {
        RequireLeafHashes(leafHashes);
        if (leafHashes.Count == 0)
            return EmptyRoot;
        var root = new byte[HashSize];
        WriteSubtreeHash(leafHashes, 0, leafHashes.Count, root);
        return root;
    }

    /// <summary>
    /// The audit path PATH(index, D[n]) of RFC 6962 §2.1.1 for a tree of all the given leaves: sibling hashes from
    /// the leaf upwards. An index outside the tree is an invalid request.
    /// </summary>
    public static Outcome<byte[][]> InclusionProof(IReadOnlyList<byte[]> leafHashes, long index)
    {
        RequireLeafHashes(leafHashes);
        if (index < 0 || index >= leafHashes.Count)
            return DomainError.InvalidRequest($"Leaf index {index} is outside a tree of size {leafHashes.Count}.");
        var path = new List<byte[]>(Depth(leafHashes.Count));
        AppendPath((int)index, leafHashes, 0, leafHashes.Count, path);
        return path.ToArray();
    }

    /// <summary>
    /// The consistency proof PROOF(oldSize, D[n]) of RFC 6962 §2.1.2 between the first <paramref name="oldSize"/>
    /// leaves and all of them. Empty when oldSize is 0 or n; an oldSize outside 0..n is an invalid request.
    /// </summary>
    public static Outcome<byte[][]> ConsistencyProof(IReadOnlyList<byte[]> leafHashes, long oldSize)
    {
        RequireLeafHashes(leafHashes);
        if (oldSize < 0 || oldSize > leafHashes.Count)
            return DomainError.InvalidRequest($"Old size {oldSize} is outside 0..{leafHashes.Count}, the size of the tree.");
        if (oldSize == 0 || oldSize == leafHashes.Count)
            return Array.Empty<byte[]>();
        var proof = new List<byte[]>(Depth(leafHashes.Count) + 1);
        AppendSubproof((int)oldSize, leafHashes, 0, leafHashes.Count, complete: true, proof);
        return proof.ToArray();
    }

    /// <summary>k of RFC 6962 §2.1: the largest power of two smaller than n, for n &gt; 1.</summary>
    internal static long SplitPoint(long n) => 1L << BitOperations.Log2((ulong)(n - 1));

    // destination may alias left or right: the inputs are copied before hashing.
    internal static void WriteNodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[1 + 2 * HashSize];
        input[0] = 0x01;
        left.CopyTo(input[1..]);
        right.CopyTo(input[(1 + HashSize)..]);
        SHA256.HashData(input, destination);
    }

    private static void WriteSubtreeHash(IReadOnlyList<byte[]> leaves, int start, int count, Span<byte> destination)
    {
        if (count == 1)
        {
            leaves[start].CopyTo(destination);
            return;
        }
        var k = (int)SplitPoint(count);
        Span<byte> children = stackalloc byte[2 * HashSize];
        WriteSubtreeHash(leaves, start, k, children[..HashSize]);
        WriteSubtreeHash(leaves, start + k, count - k, children[HashSize..]);
        WriteNodeHash(children[..HashSize], children[HashSize..], destination);
    }

    private static byte[] SubtreeHash(IReadOnlyList<byte[]> leaves, int start, int count)
    {
        var hash = new byte[HashSize];
        WriteSubtreeHash(leaves, start, count, hash);
        return hash;
    }

    // PATH(m, D[start:start+count]); the recursion returns before appending, so siblings come out bottom-up.
    private static void AppendPath(int m, IReadOnlyList<byte[]> leaves, int start, int count, List<byte[]> path)
    {
        if (count == 1)
            return;
        var k = (int)SplitPoint(count);
        if (m < k)
        {
            AppendPath(m, leaves, start, k, path);
            path.Add(SubtreeHash(leaves, start + k, count - k));
        }
        else
        {
            AppendPath(m - k, leaves, start + k, count - k, path);
            path.Add(SubtreeHash(leaves, start, k));
        }
    }

    // SUBPROOF(m, D[start:start+count], complete) for 0 < m <= count.
    private static void AppendSubproof(int m, IReadOnlyList<byte[]> leaves, int start, int count, bool complete, List<byte[]> proof)
    {
        if (m == count)
        {
            if (!complete)
                proof.Add(SubtreeHash(leaves, start, count));
            return;
        }
        var k = (int)SplitPoint(count);
        if (m <= k)
        {
            AppendSubproof(m, leaves, start, k, complete, proof);
            proof.Add(SubtreeHash(leaves, start + k, count - k));
        }
        else
        {
            AppendSubproof(m - k, leaves, start + k, count - k, complete: false, proof);
            proof.Add(SubtreeHash(leaves, start, k));
        }
    }

    private static int Depth(int n) => n <= 1 ? 0 : BitOperations.Log2((uint)(n - 1)) + 1;

    // A leaf list is the log's own data: a wrong entry is a bug, not a request to reject.
    private static void RequireLeafHashes(IReadOnlyList<byte[]> leafHashes)
    {
        ArgumentNullException.ThrowIfNull(leafHashes);
        for (var i = 0; i < leafHashes.Count; i++)
        {
            if (leafHashes[i] is not { Length: HashSize })
                throw new ArgumentException($"Leaf hash {i} is not a {HashSize}-byte SHA-256 hash.", nameof(leafHashes));
        }
    }
}
