using Marketplace.Transparency;

namespace Marketplace.UnitTests.Transparency;

/// <summary>
/// <see cref="MerkleLog"/> over subtrees stored append-only (as the log's projection stores them) gives exactly the
/// roots and proofs of <see cref="MerkleTree"/> over all leaves in memory, for every size, index and old size up to 130.
/// </summary>
public class MerkleLogTests
{
    private const int Max = 130;

    private static readonly byte[][] Leaves = [.. Enumerable.Range(0, Max).Select(i => MerkleTree.LeafHash(BitConverter.GetBytes(i * 31 + 5)))];

    // Append leaf by leaf, storing each subtree as it completes from its left sibling and itself — nothing else.
    private static readonly Dictionary<Subtree, byte[]> Stored = Append(Leaves);

    private static Dictionary<Subtree, byte[]> Append(byte[][] leaves)
    {
        var stored = new Dictionary<Subtree, byte[]>();
        for (var i = 0; i < leaves.Length; i++)
        {
            foreach (var subtree in MerkleLog.CompletedBy(i))
            {
                stored[subtree] = subtree.Level == 0
                    ? leaves[i]
                    : MerkleTree.NodeHash(stored[new Subtree(subtree.Level - 1, 2 * subtree.Index)], stored[new Subtree(subtree.Level - 1, 2 * subtree.Index + 1)]);
            }
        }
        return stored;
    }

    private static Func<Subtree, byte[]> Lookup(IReadOnlyCollection<Subtree> allowed) => s =>
    {
        Assert.Contains(s, allowed);
        return Stored[s];
    };

    [Fact]
    public void every_root_equals_the_in_memory_root_and_needs_at_most_log_n_subtrees()
    {
        for (var n = 0; n <= Max; n++)
        {
            var needed = MerkleLog.NeededForRoot(n);
            Assert.True(needed.Count <= 8, $"size {n} needs {needed.Count} subtrees");
            Assert.Equal(MerkleTree.RootHash(Leaves[..n]), MerkleLog.Root(n, Lookup(needed)));
        }
    }

    [Fact]
    public void every_inclusion_proof_equals_the_in_memory_proof()
    {
        for (var n = 1; n <= Max; n++)
        {
            for (var i = 0; i < n; i++)
            {
                var proof = MerkleLog.InclusionProof(i, n, Lookup(MerkleLog.NeededForInclusion(i, n)));
                Assert.Equal(MerkleTree.InclusionProof(Leaves[..n], i).Value!, proof);
                Assert.True(MerkleVerifier.VerifyInclusion(Leaves[i], i, n, proof, MerkleTree.RootHash(Leaves[..n])));
            }
        }
    }

    [Fact]
    public void every_consistency_proof_equals_the_in_memory_proof()
    {
        for (var n = 0; n <= Max; n++)
        {
            for (var m = 0; m <= n; m++)
            {
                var proof = MerkleLog.ConsistencyProof(m, n, Lookup(MerkleLog.NeededForConsistency(m, n)));
                Assert.Equal(MerkleTree.ConsistencyProof(Leaves[..n], m).Value!, proof);
                if (m > 0)
                    Assert.True(MerkleVerifier.VerifyConsistency(m, n, MerkleTree.RootHash(Leaves[..m]), MerkleTree.RootHash(Leaves[..n]), proof));
            }
        }
    }

    [Fact]
    public void a_leaf_completes_one_subtree_per_trailing_one_bit()
    {
        Assert.Equal([new Subtree(0, 6)], MerkleLog.CompletedBy(6));
        Assert.Equal([new Subtree(0, 7), new Subtree(1, 3), new Subtree(2, 1), new Subtree(3, 0)], MerkleLog.CompletedBy(7));
        Assert.Equal(Stored.Count, Enumerable.Range(0, Max).Sum(i => MerkleLog.CompletedBy(i).Count()));
    }

    [Fact]
    public void out_of_range_requests_throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleLog.InclusionProof(5, 5, _ => []));
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleLog.ConsistencyProof(6, 5, _ => []));
    }
}
