using Marketplace.Functions.Registry;
using Marketplace.Transparency;
using Marten;

namespace Marketplace.Functions.Transparency;

public sealed class TransparencyOptions
{
    /// <summary>The checkpoint origin: the log's name, first line of every checkpoint and the signature's key name.</summary>
    public string Origin { get; set; } = "marketplace.local/log";
}

public sealed record LogLeaf(long Index, long Sequence, byte[] Hash);

/// <summary>
/// Reads the transparency log: its size, signed checkpoints, leaves and proofs, each from the stored subtrees in one
/// or two queries. Checkpoints are signed by the registry key (Ed25519, deterministic: the same size gives the same note).
/// </summary>
public sealed class TransparencyLog(IDocumentStore store, RegistryKey key, TransparencyOptions options)
{
    private readonly string _leaves = TransparencyLogProjection.LeavesIn(store.Options.DatabaseSchemaName);
    private readonly string _nodes = TransparencyLogProjection.NodesIn(store.Options.DatabaseSchemaName);

    public string Origin => options.Origin;

    public string VerifierKey => Checkpoint.VerifierKey(options.Origin, Convert.FromBase64String(key.Public.PublicKey));

    public async Task<long> SizeAsync(IQuerySession session, CancellationToken ct) =>
        (await session.QueryAsync<long>($"select coalesce(max(index) + 1, 0) from {_leaves}", ct)).Single();

    public async Task<(Checkpoint Checkpoint, string Note)> CheckpointAsync(CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var size = await SizeAsync(session, ct);
        var nodes = await LoadAsync(session, _leaves, _nodes, MerkleLog.NeededForRoot(size), ct);
        var checkpoint = new Checkpoint(options.Origin, size, MerkleLog.Root(size, s => nodes[s]));
        return (checkpoint, checkpoint.Sign(key.Key));
    }

    public async Task<LogLeaf?> LeafAsync(IQuerySession session, long? index, long? sequence, CancellationToken ct)
    {
        var rows = index is { } i
            ? await session.QueryAsync<string>(
                $"select concat_ws(' ', index, sequence, encode(hash, 'base64')) from {_leaves} where index = ?", ct, i)
            : await session.QueryAsync<string>(
                $"select concat_ws(' ', index, sequence, encode(hash, 'base64')) from {_leaves} where sequence = ?", ct, sequence!.Value);
        if (rows.Count == 0) return null;
        var parts = rows[0].Split(' ');
        return new LogLeaf(
            long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture),
            long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture),
            Convert.FromBase64String(parts[2]));
    }

    public async Task<byte[][]> InclusionProofAsync(IQuerySession session, long index, long size, CancellationToken ct)
    {
        var nodes = await LoadAsync(session, _leaves, _nodes, MerkleLog.NeededForInclusion(index, size), ct);
        return MerkleLog.InclusionProof(index, size, s => nodes[s]);
    }

    public async Task<byte[][]> ConsistencyProofAsync(IQuerySession session, long oldSize, long newSize, CancellationToken ct)
    {
        var nodes = await LoadAsync(session, _leaves, _nodes, MerkleLog.NeededForConsistency(oldSize, newSize), ct);
        return MerkleLog.ConsistencyProof(oldSize, newSize, s => nodes[s]);
    }

    /// <summary>Loads the given subtrees' hashes in one query (leaves for level 0, nodes above).</summary>
    internal static async Task<Dictionary<Subtree, byte[]>> LoadAsync(
        IQuerySession session, string leaves, string nodes, IReadOnlyCollection<Subtree> wanted, CancellationToken ct)
    {
        var found = new Dictionary<Subtree, byte[]>(wanted.Count);
        if (wanted.Count == 0) return found;
        var leafIndexes = wanted.Where(s => s.Level == 0).Select(s => s.Index).ToArray();
        var nodeLevels = wanted.Where(s => s.Level > 0).Select(s => s.Level).ToArray();
        var nodeIndexes = wanted.Where(s => s.Level > 0).Select(s => s.Index).ToArray();
        var rows = await session.QueryAsync<string>(
            $"select concat_ws(' ', 0, index, encode(hash, 'base64')) from {leaves} where index = any(?) " +
            $"union all select concat_ws(' ', n.level, n.index, encode(n.hash, 'base64')) from {nodes} n " +
            "join unnest(?::int[], ?::bigint[]) w(level, index) on n.level = w.level and n.index = w.index",
            ct, leafIndexes, nodeLevels, nodeIndexes);
        foreach (var row in rows)
        {
            var parts = row.Split(' ');
            var subtree = new Subtree(
                int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture),
                long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
            found[subtree] = Convert.FromBase64String(parts[2]);
        }
        if (found.Count != wanted.Count)
            throw new InvalidOperationException($"The transparency log is missing {wanted.Count - found.Count} stored subtree(s): " +
                "it is being rebuilt or its tables were altered.");
        return found;
    }
}
