using JasperFx.Events;
using JasperFx.Events.Projections;
using Marketplace.Functions.Events;
using Marketplace.Projections;
using Marketplace.Transparency;
using Marten;
using Marten.Events.Projections;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace Marketplace.Functions.Transparency;

/// <summary>
/// The transparency log: every state-changing event (those the <see cref="EventCatalog"/> marks as leaves: publish,
/// yank, unyank, owner change, trusted publishing, webhook subscriptions) becomes the next leaf of an RFC 6962 tree,
/// in global order. A leaf's entry is the event's CloudEvent JSON exactly as <c>GET /v1/events</c> serves it, so
/// anyone mirroring the feed can recompute every leaf. Leaves go to <c>mkt_tlog_leaves</c> (index, event sequence,
/// leaf hash) and every subtree that a leaf completes to <c>mkt_tlog_nodes</c> (level ≥ 1, index, hash):
/// append-only, so roots and proofs read at most O(log² n) stored hashes (<see cref="MerkleLog"/>). The daemon
/// commits each batch with its progress, so leaves are numbered without gaps or repeats; a rebuild empties both
/// tables and numbers them again identically.
/// </summary>
public sealed class TransparencyLogProjection : EventProjection, IJasperFxProjection<IDocumentOperations>
{
    public const string ProjectionName = "TransparencyLog";

    public static string LeavesIn(string schema) => $"{schema}.mkt_tlog_leaves";
    public static string NodesIn(string schema) => $"{schema}.mkt_tlog_nodes";

    /// <summary>
    /// Each leaf's entry, the canonical bytes (its CloudEvent JSON) stored once, when this projection first applies
    /// the event; the feed serves them and the leaf hash is over them. Append-only and kept across rebuilds, so
    /// neither a serializer upgrade nor a rebuild can change a served byte or a leaf.
    /// </summary>
    public static string EntriesIn(string schema) => $"{schema}.{EntriesTable}";

    public const string EntriesTable = "mkt_log_entries";

    private readonly string _leaves;
    private readonly string _nodes;
    private readonly string _entries;

    public TransparencyLogProjection(string schema)
    {
        Name = ProjectionName;
        _leaves = LeavesIn(schema);
        _nodes = NodesIn(schema);
        _entries = EntriesIn(schema);
        var leaves = new Table(new PostgresqlObjectName(schema, "mkt_tlog_leaves", SchemaUtils.IdentifierUsage.General));
        leaves.AddColumn<long>("index").AsPrimaryKey();
        leaves.AddColumn<long>("sequence").NotNull();
        leaves.AddColumn("hash", "bytea").NotNull();
        leaves.Indexes.Add(new IndexDefinition("mkt_tlog_leaves_sequence") { Columns = ["sequence"], IsUnique = true });
        SchemaObjects.Add(leaves);
        var nodes = new Table(new PostgresqlObjectName(schema, "mkt_tlog_nodes", SchemaUtils.IdentifierUsage.General));
        nodes.AddColumn<int>("level").AsPrimaryKey();
        nodes.AddColumn<long>("index").AsPrimaryKey();
        nodes.AddColumn("hash", "bytea").NotNull();
        SchemaObjects.Add(nodes);
        var entries = new Table(new PostgresqlObjectName(schema, EntriesTable, SchemaUtils.IdentifierUsage.General));
        entries.AddColumn<long>("sequence").AsPrimaryKey();
        entries.AddColumn("entry", "bytea").NotNull();
        SchemaObjects.Add(entries);
        foreach (var type in EventCatalog.LogLeaves) IncludeType(type);
        Options.DeleteDataInTableOnTeardown(_leaves);
        Options.DeleteDataInTableOnTeardown(_nodes);
    }

    public override async ValueTask ApplyAsync(IDocumentOperations operations, IEvent e, CancellationToken cancellation) =>
        await AppendAsync(operations, [e], cancellation);

    Task IJasperFxProjection<IDocumentOperations>.ApplyAsync(
        IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation) =>
        AppendAsync(operations, events, cancellation);

    private async Task AppendAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken ct)
    {
        var logged = events.Where(e => EventCatalog.IsLogLeaf(e.EventType)).ToList();
        if (logged.Count == 0) return;
        var size = (await operations.QueryAsync<long>($"select coalesce(max(index) + 1, 0) from {_leaves}", ct)).Single();
        // The subtrees along the right edge of the current tree: every left sibling a new leaf can need.
        var known = await TransparencyLog.LoadAsync(operations, _leaves, _nodes, MerkleLog.NeededForRoot(size), ct);
        var stored = await LoadEntriesAsync(operations, _entries, logged.Select(e => e.Sequence).ToArray(), ct);
        var entryRows = new List<object?[]>();
        var leafRows = new List<object?[]>(logged.Count);
        var nodeRows = new List<object?[]>();
        foreach (var e in logged)
        {
            var index = size++;
            foreach (var subtree in MerkleLog.CompletedBy(index))
            {
                if (subtree.Level == 0)
                {
                    if (!stored.TryGetValue(e.Sequence, out var entry))
                    {
                        entry = RegistryCloudEvents.Serialize(e);
                        entryRows.Add([e.Sequence, entry]);
                    }
                    var leaf = MerkleTree.LeafHash(entry);
                    known[subtree] = leaf;
                    leafRows.Add([index, e.Sequence, leaf]);
                }
                else
                {
                    var hash = MerkleTree.NodeHash(
                        known[new Subtree(subtree.Level - 1, 2 * subtree.Index)], known[new Subtree(subtree.Level - 1, 2 * subtree.Index + 1)]);
                    known[subtree] = hash;
                    nodeRows.Add([subtree.Level, subtree.Index, hash]);
                }
            }
        }
        MultiRowInsert.Queue(operations, $"{_entries} (sequence, entry)", "(?, ?)", entryRows);
        MultiRowInsert.Queue(operations, $"{_leaves} (index, sequence, hash)", "(?, ?, ?)", leafRows);
        MultiRowInsert.Queue(operations, $"{_nodes} (level, index, hash)", "(?, ?, ?)", nodeRows);
        ProjectionMetrics.Applied(ProjectionName, logged);
    }

    /// <summary>The stored entries of the given event sequences (those not stored yet are absent).</summary>
    public static async Task<Dictionary<long, byte[]>> LoadEntriesAsync(IQuerySession session, string entries, long[] sequences, CancellationToken ct)
    {
        var found = new Dictionary<long, byte[]>(sequences.Length);
        if (sequences.Length == 0) return found;
        var rows = await session.QueryAsync<string>(
            $"select concat_ws(' ', sequence, encode(entry, 'base64')) from {entries} where sequence = any(?)", ct, sequences);
        foreach (var row in rows)
        {
            var space = row.IndexOf(' ', StringComparison.Ordinal);
            found[long.Parse(row.AsSpan(0, space), System.Globalization.CultureInfo.InvariantCulture)] = Convert.FromBase64String(row[(space + 1)..]);
        }
        return found;
    }

}
