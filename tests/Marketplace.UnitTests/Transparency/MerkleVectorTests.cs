using Marketplace.Transparency;

namespace Marketplace.UnitTests.Transparency;

/// <summary>
/// Known answers for the RFC 6962 tree. Every expected hash is a literal copied from the Go reference implementation
/// (github.com/transparency-dev/merkle, the successor of certificate-transparency-go/merkle):
/// leaves, level hashes and roots from <c>testonly/constants.go</c>, inclusion and consistency proofs from
/// <c>proof/verify_test.go</c>. Never computed with the code under test.
/// </summary>
public class MerkleVectorTests
{
    private static byte[] H(string hex) => Convert.FromHexString(hex);

    // testonly/constants.go LeafInputs().
    private static readonly byte[][] Entries =
    [
        H(""), H("00"), H("10"), H("2021"), H("3031"), H("40414243"), H("5051525354555657"),
        H("606162636465666768696a6b6c6d6e6f"),
    ];

    // testonly/constants.go NodeHashes(): level 0 = leaf hashes, then each complete subtree, left to right.
    private static readonly string[][] Levels =
    [
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        ],
        [
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        ],
        [
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
        ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
    ];

    // testonly/constants.go RootHashes(), indexed by tree size.
    private static readonly string[] Roots =
    [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    // proof/verify_test.go inclusionProofs, whose leaf numbers are 1-based: {leaf 1, size 8} is index 0 here.
    public static TheoryData<int, int, string[]> InclusionVectors => new()
    {
        { 0, 1, [] },
        { 0, 8, [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"] },
        { 5, 8, [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"] },
        { 2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"] },
        { 1, 5, [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"] },
    };

    // proof/verify_test.go consistencyProofs.
    public static TheoryData<int, int, string[]> ConsistencyVectors => new()
    {
        { 1, 1, [] },
        { 1, 8, [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"] },
        { 6, 8, [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"] },
        { 2, 5, [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"] },
        { 6, 7, [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"] },
    };

    private static readonly byte[] SomeHash = H("abacaba000000000000000000000000000000000000000000060061e00123456");

    private static byte[][] LeafHashes(int size) => [.. Entries.Take(size).Select(e => MerkleTree.LeafHash(e))];

    private static byte[] Root(int size) => H(Roots[size]);

    [Fact]
    public void the_empty_tree_root_is_sha256_of_nothing()
    {
        Assert.Equal(H("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), MerkleTree.EmptyRoot);
        Assert.Equal(MerkleTree.EmptyRoot, MerkleTree.RootHash([]));
    }

    [Fact]
    public void leaf_hashes_are_the_reference_leaf_hashes()
    {
        for (var i = 0; i < Entries.Length; i++)
            Assert.Equal(H(Levels[0][i]), MerkleTree.LeafHash(Entries[i]));
    }

    [Fact]
    public void roots_of_sizes_0_to_8_are_the_reference_roots()
    {
        for (var size = 0; size <= 8; size++)
            Assert.Equal(Roots[size], Convert.ToHexStringLower(MerkleTree.RootHash(LeafHashes(size))));
    }

    [Fact]
    public void every_complete_subtree_hash_is_the_reference_node_hash()
    {
        var leaves = LeafHashes(8);
        for (var level = 0; level < Levels.Length; level++)
        {
            var width = 1 << level;
            for (var i = 0; i < Levels[level].Length; i++)
                Assert.Equal(H(Levels[level][i]), MerkleTree.RootHash(leaves[(i * width)..((i + 1) * width)]));
        }
    }

    [Fact]
    public void node_hash_prefixes_0x01_to_the_children()
    {
        Assert.Equal(H(Levels[1][0]), MerkleTree.NodeHash(H(Levels[0][0]), H(Levels[0][1])));
        Assert.Throws<ArgumentException>(() => MerkleTree.NodeHash(new byte[31], new byte[32]));
    }

    [Theory]
    [MemberData(nameof(InclusionVectors))]
    public void inclusion_proofs_are_the_reference_proofs_and_verify(int index, int size, string[] expected)
    {
        var leaves = LeafHashes(size);

        var proof = MerkleTree.InclusionProof(leaves, index);

        Assert.False(proof.IsError);
        Assert.Equal(expected, proof.Value!.Select(Convert.ToHexStringLower));
        Assert.True(MerkleVerifier.VerifyInclusion(leaves[index], index, size, [.. expected.Select(H)], Root(size)));
    }

    [Theory]
    [MemberData(nameof(InclusionVectors))]
    public void corrupted_reference_inclusion_proofs_are_rejected(int index, int size, string[] expected)
    {
        // The probes of verify_test.go corruptInclusionProof.
        var proof = expected.Select(H).ToArray();
        var leaf = MerkleTree.LeafHash(Entries[index]);
        var root = Root(size);
        var probes = new List<(string, long, long, byte[], byte[][], byte[])>
        {
            ("index - 1", index - 1, size, leaf, proof, root),
            ("index + 1", index + 1, size, leaf, proof, root),
            ("index ^ 2", index ^ 2, size, leaf, proof, root),
            ("size * 2", index, size * 2, leaf, proof, root),
            ("size / 2", index, size / 2, leaf, proof, root),
            ("wrong leaf", index, size, "WrongLeaf"u8.ToArray(), proof, root),
            ("empty root", index, size, leaf, proof, MerkleTree.EmptyRoot),
            ("random root", index, size, leaf, proof, SomeHash),
            ("trailing garbage", index, size, leaf, [.. proof, []], root),
            ("trailing root", index, size, leaf, [.. proof, root], root),
            ("preceding garbage", index, size, leaf, [[], .. proof], root),
            ("preceding root", index, size, leaf, [root, .. proof], root),
        };
        for (var i = 0; i < proof.Length; i++)
        {
            var flipped = proof.Select(p => (byte[])p.Clone()).ToArray();
            flipped[i][0] ^= 8;
            probes.Add(($"proof[{i}] bit 3", index, size, leaf, flipped, root));
        }
        if (proof.Length > 0)
            probes.Add(("removed component", index, size, leaf, proof[..^1], root));
        if (proof.Length > 1)
            probes.Add(("inserted component", index, size, leaf, [proof[0], SomeHash, .. proof[1..]], root));

        var accepted = probes.Where(p => MerkleVerifier.VerifyInclusion(p.Item4, p.Item2, p.Item3, p.Item5, p.Item6)).Select(p => p.Item1);

        Assert.Empty(accepted);
    }

    [Theory]
    [MemberData(nameof(ConsistencyVectors))]
    public void consistency_proofs_are_the_reference_proofs_and_verify(int oldSize, int newSize, string[] expected)
    {
        var proof = MerkleTree.ConsistencyProof(LeafHashes(newSize), oldSize);

        Assert.False(proof.IsError);
        Assert.Equal(expected, proof.Value!.Select(Convert.ToHexStringLower));
        Assert.True(MerkleVerifier.VerifyConsistency(oldSize, newSize, Root(oldSize), Root(newSize), [.. expected.Select(H)]));
    }

    [Theory]
    [MemberData(nameof(ConsistencyVectors))]
    public void corrupted_reference_consistency_proofs_are_rejected(int oldSize, int newSize, string[] expected)
    {
        // The probes of verify_test.go corruptConsistencyProof, which skips the trivial (empty) proofs.
        if (expected.Length == 0)
            return;
        var proof = expected.Select(H).ToArray();
        byte[] root1 = Root(oldSize), root2 = Root(newSize), wrong = "WrongRoot"u8.ToArray();
        var probes = new List<(string, long, long, byte[], byte[], byte[][])>
        {
            ("size1 - 1", oldSize - 1, newSize, root1, root2, proof),
            ("size1 + 1", oldSize + 1, newSize, root1, root2, proof),
            ("size1 ^ 2", oldSize ^ 2, newSize, root1, root2, proof),
            ("size2 * 2", oldSize, newSize * 2, root1, root2, proof),
            ("size2 / 2", oldSize, newSize / 2, root1, root2, proof),
            ("wrong root1", oldSize, newSize, wrong, root2, proof),
            ("wrong root2", oldSize, newSize, root1, wrong, proof),
            ("swapped roots", oldSize, newSize, root2, root1, proof),
            ("empty proof", oldSize, newSize, root1, root2, []),
            ("trailing garbage", oldSize, newSize, root1, root2, [.. proof, []]),
            ("trailing root1", oldSize, newSize, root1, root2, [.. proof, root1]),
            ("trailing root2", oldSize, newSize, root1, root2, [.. proof, root2]),
            ("preceding garbage", oldSize, newSize, root1, root2, [[], .. proof]),
            ("preceding root1", oldSize, newSize, root1, root2, [root1, .. proof]),
            ("preceding root2", oldSize, newSize, root1, root2, [root2, .. proof]),
            ("preceding proof[0]", oldSize, newSize, root1, root2, [proof[0], .. proof]),
            ("truncated proof", oldSize, newSize, root1, root2, proof[..^1]),
        };
        for (var i = 0; i < proof.Length; i++)
        {
            var flipped = proof.Select(p => (byte[])p.Clone()).ToArray();
            flipped[i][0] ^= 16;
            probes.Add(($"proof[{i}] bit 4", oldSize, newSize, root1, root2, flipped));
        }

        var accepted = probes.Where(p => MerkleVerifier.VerifyConsistency(p.Item2, p.Item3, p.Item4, p.Item5, p.Item6)).Select(p => p.Item1);

        Assert.Empty(accepted);
    }

    [Fact]
    public void the_rfc_6962_seven_leaf_example_has_the_paths_and_proofs_the_rfc_lists()
    {
        // RFC 6962 §2.1.3, with this file's leaves: b, c, d, f, j are leaf hashes, g h i k are level hashes, and
        // l = SHA-256(0x01 ‖ i ‖ j) (computed apart from this code, with Python's hashlib).
        string b = Levels[0][1], c = Levels[0][2], d = Levels[0][3], f = Levels[0][5], j = Levels[0][6];
        string g = Levels[1][0], h = Levels[1][1], i = Levels[1][2], k = Levels[2][0];
        const string l = "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e";
        var leaves = LeafHashes(7);

        string[] Path(int index) => [.. MerkleTree.InclusionProof(leaves, index).Value!.Select(Convert.ToHexStringLower)];
        string[] Proof(int oldSize) => [.. MerkleTree.ConsistencyProof(leaves, oldSize).Value!.Select(Convert.ToHexStringLower)];

        Assert.Equal([b, h, l], Path(0));
        Assert.Equal([c, g, l], Path(3));
        Assert.Equal([f, j, k], Path(4));
        Assert.Equal([i, k], Path(6));
        Assert.Equal([c, d, g, l], Proof(3));
        Assert.Equal([l], Proof(4));
        Assert.Equal([i, j, k], Proof(6));
    }

    [Fact]
    public void proofs_for_positions_outside_the_tree_are_invalid_requests()
    {
        var leaves = LeafHashes(5);

        Assert.Equal("invalid-request", MerkleTree.InclusionProof(leaves, 5).Error?.Code);
        Assert.Equal("invalid-request", MerkleTree.InclusionProof(leaves, -1).Error?.Code);
        Assert.Equal("invalid-request", MerkleTree.InclusionProof([], 0).Error?.Code);
        Assert.Equal("invalid-request", MerkleTree.ConsistencyProof(leaves, 6).Error?.Code);
        Assert.Equal("invalid-request", MerkleTree.ConsistencyProof(leaves, -1).Error?.Code);
        Assert.Empty(MerkleTree.ConsistencyProof(leaves, 0).Value!);
        Assert.Empty(MerkleTree.ConsistencyProof(leaves, 5).Value!);
    }

    [Fact]
    public void leaves_that_are_not_sha256_hashes_are_a_programming_error()
    {
        Assert.Throws<ArgumentException>(() => MerkleTree.RootHash([new byte[32], new byte[3]]));
        Assert.Throws<ArgumentException>(() => MerkleTree.InclusionProof([null!], 0));
    }

    [Fact]
    public void inclusion_edge_cases_from_the_reference_are_rejected()
    {
        // verify_test.go TestVerifyInclusion and TestVerifyInclusionSingleEntry.
        var empty = MerkleTree.EmptyRoot;
        foreach (var (index, size) in new[] { (0L, 0L), (0L, 1L), (1L, 0L), (2L, 1L) })
        {
            Assert.False(MerkleVerifier.VerifyInclusion(SomeHash, index, size, [], []));
            Assert.False(MerkleVerifier.VerifyInclusion([], index, size, [], empty));
            Assert.False(MerkleVerifier.VerifyInclusion(SomeHash, index, size, [], empty));
        }
        var hash = MerkleTree.LeafHash("data"u8);
        Assert.True(MerkleVerifier.VerifyInclusion(hash, 0, 1, [], hash));
        Assert.False(MerkleVerifier.VerifyInclusion([], 0, 1, [], hash));
        Assert.False(MerkleVerifier.VerifyInclusion(hash, 0, 1, [], []));
        Assert.False(MerkleVerifier.VerifyInclusion([], 0, 1, [], []));
    }

    [Fact]
    public void consistency_edge_cases_from_the_reference_hold()
    {
        // verify_test.go TestVerifyConsistency, except that an old size of 0 must come with the empty-tree root
        // (Go accepts any root there).
        var empty = MerkleTree.EmptyRoot;
        byte[] root1 = Root(3), root2 = Root(5);
        Assert.False(MerkleVerifier.VerifyConsistency(0, 0, root1, root2, []));
        Assert.False(MerkleVerifier.VerifyConsistency(1, 1, root1, root2, []));
        Assert.True(MerkleVerifier.VerifyConsistency(0, 0, empty, empty, []));
        Assert.True(MerkleVerifier.VerifyConsistency(0, 1, empty, root2, []));
        Assert.False(MerkleVerifier.VerifyConsistency(0, 1, root1, root2, []));
        Assert.True(MerkleVerifier.VerifyConsistency(1, 1, root2, root2, []));
        Assert.False(MerkleVerifier.VerifyConsistency(1, 0, root1, root2, []));
        Assert.False(MerkleVerifier.VerifyConsistency(2, 1, root1, root2, []));
        Assert.False(MerkleVerifier.VerifyConsistency(1, 2, root1, root2, []));
        Assert.False(MerkleVerifier.VerifyConsistency(0, 0, empty, root2, []));
        Assert.False(MerkleVerifier.VerifyConsistency(1, 1, empty, root2, []));
        Assert.False(MerkleVerifier.VerifyConsistency(0, 0, root1, root1, []));
        Assert.False(MerkleVerifier.VerifyConsistency(0, 0, empty, empty, [empty]));
        Assert.False(MerkleVerifier.VerifyConsistency(0, 1, empty, empty, [empty]));
        Assert.False(MerkleVerifier.VerifyConsistency(1, 1, empty, empty, [empty]));
    }

    [Fact]
    public void garbage_input_returns_false_instead_of_throwing()
    {
        var leaf = MerkleTree.LeafHash(Entries[0]);
        var root = Root(8);
        byte[][] proof = [H(Levels[0][1]), H(Levels[1][1]), H(Levels[2][1])];

        Assert.False(MerkleVerifier.VerifyInclusion(null, 0, 8, proof, root));
        Assert.False(MerkleVerifier.VerifyInclusion(leaf, 0, 8, null, root));
        Assert.False(MerkleVerifier.VerifyInclusion(leaf, 0, 8, proof, null));
        Assert.False(MerkleVerifier.VerifyInclusion(leaf, 0, 8, [proof[0], null!, proof[2]], root));
        Assert.False(MerkleVerifier.VerifyInclusion(leaf, 0, 8, [proof[0], new byte[33], proof[2]], root));
        Assert.False(MerkleVerifier.VerifyInclusion(leaf, -1, 8, proof, root));
        Assert.False(MerkleVerifier.VerifyInclusion(leaf, 0, -8, proof, root));
        Assert.False(MerkleVerifier.VerifyInclusion(leaf, long.MaxValue, long.MaxValue, proof, root));
        Assert.False(MerkleVerifier.VerifyInclusion(leaf, 0, long.MaxValue, [.. Enumerable.Repeat(proof[0], 100)], root));
        Assert.False(MerkleVerifier.VerifyInclusion(leaf, long.MinValue, long.MinValue, proof, root));

        Assert.False(MerkleVerifier.VerifyConsistency(1, 8, null, root, proof));
        Assert.False(MerkleVerifier.VerifyConsistency(1, 8, leaf, null, proof));
        Assert.False(MerkleVerifier.VerifyConsistency(1, 8, leaf, root, null));
        Assert.False(MerkleVerifier.VerifyConsistency(1, 8, leaf, root, [proof[0], null!, proof[2]]));
        Assert.False(MerkleVerifier.VerifyConsistency(1, 8, leaf, root, [proof[0], [], proof[2]]));
        Assert.False(MerkleVerifier.VerifyConsistency(-1, 8, leaf, root, proof));
        Assert.False(MerkleVerifier.VerifyConsistency(long.MinValue, long.MaxValue, leaf, root, proof));
        Assert.False(MerkleVerifier.VerifyConsistency(long.MaxValue - 1, long.MaxValue, leaf, root, [.. Enumerable.Repeat(proof[0], 100)]));
        Assert.True(MerkleVerifier.VerifyConsistency(1, 8, leaf, root, proof));
    }
}
