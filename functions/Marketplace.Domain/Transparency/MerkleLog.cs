using System.Numerics;

namespace Marketplace.Transparency;

/// <summary>
/// A complete, aligned subtree of the log: leaves <c>[Index·2^Level, (Index+1)·2^Level)</c>. Every hash the RFC 6962
/// algorithms need for a log stored append-only is a combination of such subtrees, each stored once when it completes.
/// </summary>
public readonly record struct Subtree(int Level, long Index)
{
    public long Start => Index << Level;
    public long Size => 1L << Level;
}

/// <summary>
/// Roots and proofs of <see cref="MerkleTree"/> for a log too large to hold in memory: the same RFC 6962 recursion,
/// but every range it hashes is resolved into complete aligned subtrees (the left part of every split is one), so a
/// root needs at most log2(n) stored hashes and a proof O(log² n). Each operation runs twice: once to list the subtrees
/// it needs (the recursion's shape does not depend on hash values), so the caller can load them in one query, then
/// with the loaded hashes.
/// </summary>
public static class MerkleLog
{
    /// <summary>The subtrees whose hashes <see cref="Root"/> needs.</summary>
    public static IReadOnlyCollection<Subtree> NeededForRoot(long size) => Collect(lookup => Root(size, lookup));

    public static IReadOnlyCollection<Subtree> NeededForInclusion(long index, long size) => Collect(lookup => InclusionProof(index, size, lookup));

    public static IReadOnlyCollection<Subtree> NeededForConsistency(long oldSize, long newSize) =>
        Collect(lookup => ConsistencyProof(oldSize, newSize, lookup));

    /// <summary>MTH of the first <paramref name="size"/> leaves.</summary>
    public static byte[] Root(long size, Func<Subtree, byte[]> lookup)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        return size == 0 ? MerkleTree.EmptyRoot : RangeHash(0, size, lookup);
    }

    /// <summary>PATH(index, D[0:size]), bottom-up; the caller checks 0 ≤ index &lt; size.</summary>
    public static byte[][] InclusionProof(long index, long size, Func<Subtree, byte[]> lookup)
    {
        if (index < 0 || index >= size) throw new ArgumentOutOfRangeException(nameof(index), $"Leaf {index} is outside a tree of size {size}.");
        var path = new List<byte[]>();
        Path(index, 0, size, lookup, path);
        return [.. path];
    }

    /// <summary>PROOF(oldSize, D[0:newSize]); empty when oldSize is 0 or newSize; the caller checks 0 ≤ oldSize ≤ newSize.</summary>
    public static byte[][] ConsistencyProof(long oldSize, long newSize, Func<Subtree, byte[]> lookup)
    {
        if (oldSize < 0 || oldSize > newSize) throw new ArgumentOutOfRangeException(nameof(oldSize), $"Old size {oldSize} is outside 0..{newSize}.");
        if (oldSize == 0 || oldSize == newSize) return [];
        var proof = new List<byte[]>();
        Subproof(oldSize, 0, newSize, complete: true, lookup, proof);
        return [.. proof];
    }

    /// <summary>
    /// The subtrees that complete when leaf <paramref name="index"/> is appended, lowest first: the leaf itself, then
    /// each parent whose right child it completes (leaf 7 completes levels 0–3).
    /// </summary>
    public static IEnumerable<Subtree> CompletedBy(long index)
    {
        var level = 0;
        var at = index;
        yield return new Subtree(0, at);
        while ((at & 1) == 1)
        {
            at >>= 1;
            level++;
            yield return new Subtree(level, at);
        }
    }

    /// <summary>The left sibling of a right child: what its parent is hashed from, on the left.</summary>
    public static Subtree LeftSibling(Subtree right) => new(right.Level, right.Index - 1);

    private static byte[] RangeHash(long start, long count, Func<Subtree, byte[]> lookup)
    {
        if (BitOperations.IsPow2(count) && start % count == 0)
            return lookup(new Subtree(BitOperations.Log2((ulong)count), start / count));
        var k = MerkleTree.SplitPoint(count);
        return MerkleTree.NodeHash(RangeHash(start, k, lookup), RangeHash(start + k, count - k, lookup));
    }

    private static void Path(long m, long start, long count, Func<Subtree, byte[]> lookup, List<byte[]> path)
    {
        if (count == 1) return;
        var k = MerkleTree.SplitPoint(count);
        if (m < k)
        {
            Path(m, start, k, lookup, path);
            path.Add(RangeHash(start + k, count - k, lookup));
        }
        else
        {
            Path(m - k, start + k, count - k, lookup, path);
            path.Add(RangeHash(start, k, lookup));
        }
    }

    private static void Subproof(long m, long start, long count, bool complete, Func<Subtree, byte[]> lookup, List<byte[]> proof)
    {
        if (m == count)
        {
            if (!complete) proof.Add(RangeHash(start, count, lookup));
            return;
        }
        var k = MerkleTree.SplitPoint(count);
        if (m <= k)
        {
            Subproof(m, start, k, complete, lookup, proof);
            proof.Add(RangeHash(start + k, count - k, lookup));
        }
        else
        {
            Subproof(m - k, start + k, count - k, complete: false, lookup, proof);
            proof.Add(RangeHash(start, k, lookup));
        }
    }

    private static HashSet<Subtree> Collect(Action<Func<Subtree, byte[]>> run)
    {
        var needed = new HashSet<Subtree>();
        var placeholder = new byte[MerkleTree.HashSize];
        run(s =>
        {
            needed.Add(s);
            return placeholder;
        });
        return needed;
    }
}
