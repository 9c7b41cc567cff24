using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Marketplace.Transparency;

namespace Marketplace.UnitTests.Transparency;

public sealed record InclusionCase(int Size, int Index, int Bit);

public sealed record ConsistencyCase(int OldSize, int NewSize, int Bit);

/// <summary>Tree sizes up to 300 (several levels past 256, odd shapes), positions inside them and a bit to flip.</summary>
public static class MerkleArbitraries
{
    public const int MaxSize = 300;

    public static Arbitrary<InclusionCase> InclusionCases() => Arb.From(
        from size in Gen.Choose(1, MaxSize)
        from index in Gen.Choose(0, size - 1)
        from bit in Gen.Choose(0, 8 * MerkleTree.HashSize - 1)
        select new InclusionCase(size, index, bit));

    public static Arbitrary<ConsistencyCase> ConsistencyCases() => Arb.From(
        from newSize in Gen.Choose(0, MaxSize)
        from oldSize in Gen.Choose(0, newSize)
        from bit in Gen.Choose(0, 8 * MerkleTree.HashSize - 1)
        select new ConsistencyCase(oldSize, newSize, bit));
}

public class MerkleProperties
{
    // Distinct entries, so no two leaves (and no two subtrees) share a hash by accident.
    private static readonly byte[][] Leaves =
        [.. Enumerable.Range(0, MerkleArbitraries.MaxSize).Select(i => MerkleTree.LeafHash(BitConverter.GetBytes(i * 7919 + 1)))];

    // Roots[n] is the root of the first n leaves, each computed from scratch.
    private static readonly byte[][] Roots =
        [.. Enumerable.Range(0, MerkleArbitraries.MaxSize + 1).Select(n => MerkleTree.RootHash(Leaves[..n]))];

    private static byte[] Flip(byte[] hash, int bit)
    {
        var copy = (byte[])hash.Clone();
        copy[bit / 8] ^= (byte)(1 << (bit % 8));
        return copy;
    }

    private static byte[][] FlipAt(byte[][] proof, int node, int bit)
    {
        var copy = (byte[][])proof.Clone();
        copy[node] = Flip(proof[node], bit);
        return copy;
    }

    [Property(Arbitrary = [typeof(MerkleArbitraries)], MaxTest = 500)]
    public bool every_inclusion_proof_verifies_against_its_root(InclusionCase c)
    {
        var proof = MerkleTree.InclusionProof(Leaves[..c.Size], c.Index).Value!;
        return MerkleVerifier.VerifyInclusion(Leaves[c.Index], c.Index, c.Size, proof, Roots[c.Size]);
    }

    [Property(Arbitrary = [typeof(MerkleArbitraries)], MaxTest = 500)]
    public bool a_flipped_bit_in_any_proof_node_leaf_or_root_fails_inclusion(InclusionCase c)
    {
        var proof = MerkleTree.InclusionProof(Leaves[..c.Size], c.Index).Value!;
        var leaf = Leaves[c.Index];
        var root = Roots[c.Size];
        return Enumerable.Range(0, proof.Length).All(i => !MerkleVerifier.VerifyInclusion(leaf, c.Index, c.Size, FlipAt(proof, i, c.Bit), root))
            && !MerkleVerifier.VerifyInclusion(Flip(leaf, c.Bit), c.Index, c.Size, proof, root)
            && !MerkleVerifier.VerifyInclusion(leaf, c.Index, c.Size, proof, Flip(root, c.Bit));
    }

    [Property(Arbitrary = [typeof(MerkleArbitraries)], MaxTest = 500)]
    public bool an_inclusion_proof_of_the_wrong_length_or_for_an_index_past_the_end_fails(InclusionCase c)
    {
        var proof = MerkleTree.InclusionProof(Leaves[..c.Size], c.Index).Value!;
        var leaf = Leaves[c.Index];
        var root = Roots[c.Size];
        return !MerkleVerifier.VerifyInclusion(leaf, c.Index, c.Size, [.. proof, root], root)
            && !MerkleVerifier.VerifyInclusion(leaf, c.Index, c.Size, [root, .. proof], root)
            && (proof.Length == 0 || !MerkleVerifier.VerifyInclusion(leaf, c.Index, c.Size, proof[..^1], root))
            && !MerkleVerifier.VerifyInclusion(leaf, c.Size, c.Size, proof, root)
            && !MerkleVerifier.VerifyInclusion(leaf, c.Index + c.Size, c.Size, proof, root);
    }

    [Property(Arbitrary = [typeof(MerkleArbitraries)], MaxTest = 500)]
    public bool every_consistency_proof_verifies_and_a_wrong_old_root_fails(ConsistencyCase c)
    {
        var proof = MerkleTree.ConsistencyProof(Leaves[..c.NewSize], c.OldSize).Value!;
        return MerkleVerifier.VerifyConsistency(c.OldSize, c.NewSize, Roots[c.OldSize], Roots[c.NewSize], proof)
            && !MerkleVerifier.VerifyConsistency(c.OldSize, c.NewSize, Flip(Roots[c.OldSize], c.Bit), Roots[c.NewSize], proof)
            && (c.OldSize == 0 || !MerkleVerifier.VerifyConsistency(c.OldSize, c.NewSize, Roots[c.OldSize], Flip(Roots[c.NewSize], c.Bit), proof));
    }

    [Property(Arbitrary = [typeof(MerkleArbitraries)], MaxTest = 500)]
    public bool a_flipped_bit_in_any_consistency_proof_node_fails(ConsistencyCase c)
    {
        var proof = MerkleTree.ConsistencyProof(Leaves[..c.NewSize], c.OldSize).Value!;
        return Enumerable.Range(0, proof.Length).All(i =>
            !MerkleVerifier.VerifyConsistency(c.OldSize, c.NewSize, Roots[c.OldSize], Roots[c.NewSize], FlipAt(proof, i, c.Bit)));
    }

    [Property(Arbitrary = [typeof(MerkleArbitraries)], MaxTest = 500)]
    public bool a_consistency_proof_of_the_wrong_length_fails(ConsistencyCase c)
    {
        var proof = MerkleTree.ConsistencyProof(Leaves[..c.NewSize], c.OldSize).Value!;
        byte[] oldRoot = Roots[c.OldSize], newRoot = Roots[c.NewSize];
        return !MerkleVerifier.VerifyConsistency(c.OldSize, c.NewSize, oldRoot, newRoot, [.. proof, newRoot])
            && !MerkleVerifier.VerifyConsistency(c.OldSize, c.NewSize, oldRoot, newRoot, [oldRoot, .. proof])
            && (proof.Length == 0 || !MerkleVerifier.VerifyConsistency(c.OldSize, c.NewSize, oldRoot, newRoot, proof[..^1]));
    }

    [Property(Arbitrary = [typeof(MerkleArbitraries)], MaxTest = 300)]
    public bool a_tree_that_rewrote_an_old_leaf_is_not_consistent(ConsistencyCase c)
    {
        if (c.OldSize == 0 || c.OldSize == c.NewSize)
            return true;
        // The log rewrites one leaf of the old tree (chosen by the bit) before growing to the new size.
        var forked = (byte[][])Leaves[..c.NewSize].Clone();
        var rewritten = c.Bit % c.OldSize;
        forked[rewritten] = MerkleTree.LeafHash([0xFF, .. forked[rewritten]]);
        var proof = MerkleTree.ConsistencyProof(forked, c.OldSize).Value!;
        return !MerkleVerifier.VerifyConsistency(c.OldSize, c.NewSize, Roots[c.OldSize], MerkleTree.RootHash(forked), proof);
    }

    [Fact]
    public void every_prefix_root_is_consistent_with_every_later_one()
    {
        // Exhaustive for a 64-leaf log (2,145 pairs m <= n), proofs generated from the largest tree's prefixes.
        const int size = 64;
        var failures = new List<string>();
        for (var n = 0; n <= size; n++)
        {
            for (var m = 0; m <= n; m++)
            {
                var proof = MerkleTree.ConsistencyProof(Leaves[..n], m).Value!;
                if (!MerkleVerifier.VerifyConsistency(m, n, Roots[m], Roots[n], proof))
                    failures.Add($"{m}->{n}");
            }
        }
        Assert.Empty(failures);
    }

    [Fact]
    public void every_leaf_of_every_tree_up_to_64_has_a_verifying_proof_of_the_expected_length()
    {
        var failures = new List<string>();
        for (var n = 1; n <= 64; n++)
        {
            for (var i = 0; i < n; i++)
            {
                var proof = MerkleTree.InclusionProof(Leaves[..n], i).Value!;
                // Depth of leaf i: the number of splits on its way down, at most ceil(log2 n).
                if (proof.Length > Math.Ceiling(Math.Log2(n)) || !MerkleVerifier.VerifyInclusion(Leaves[i], i, n, proof, Roots[n]))
                    failures.Add($"{i}/{n}");
            }
        }
        Assert.Empty(failures);
    }

    [Fact]
    public void a_million_leaves_hash_without_trouble()
    {
        var leaves = new byte[1_000_000][];
        for (var i = 0; i < leaves.Length; i++)
            leaves[i] = MerkleTree.LeafHash(BitConverter.GetBytes(i));

        var root = MerkleTree.RootHash(leaves);
        var first = MerkleTree.InclusionProof(leaves, 0).Value!;
        var last = MerkleTree.InclusionProof(leaves, 999_999).Value!;
        var consistency = MerkleTree.ConsistencyProof(leaves, 524_289).Value!;

        Assert.Equal(20, first.Length); // ceil(log2 1,000,000): the left edge is the deepest path
        Assert.True(MerkleVerifier.VerifyInclusion(leaves[0], 0, leaves.Length, first, root));
        Assert.True(MerkleVerifier.VerifyInclusion(leaves[999_999], 999_999, leaves.Length, last, root));
        Assert.True(MerkleVerifier.VerifyConsistency(524_289, leaves.Length, MerkleTree.RootHash(leaves[..524_289]), root, consistency));
    }
}
