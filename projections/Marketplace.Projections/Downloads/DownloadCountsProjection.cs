using JasperFx.Events;
using JasperFx.Events.Projections;
using Marketplace.Downloads;
using Marketplace.Packages;
using Marten;
using Marten.Events.Projections;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace Marketplace.Projections.Downloads;

/// <summary>
/// Download counts per package, version and UTC day, in a narrow table of counters, and each package's total in a
/// second one (<see cref="TotalsTableIn"/>: a row from the package's first publish, 0 until downloaded) that search
/// ranks and sorts by. Each daemon batch is folded in memory and written as one upsert per (package, version, day) and
/// one per package — hot downloads must not rewrite a package's whole document per event, and only this shard reads
/// the <c>Downloaded</c> events (search used to read every one of them again for its totals). Both tables are
/// emptied and refilled when the projection is rebuilt; the daemon commits each batch with its progress, so counts
/// are exact, never doubled.
/// </summary>
public sealed class DownloadCountsProjection : EventProjection, IJasperFxProjection<IDocumentOperations>
{
    public const string ProjectionName = "DownloadCounts";
    /// <summary>The row of <c>mt_event_progression</c> that says how far the counters have read the log.</summary>
    public const string ProgressionName = ProjectionName + ":All";

    private const string TableName = "mkt_download_counts";
    private const string TotalsTableName = "mkt_download_totals";

    /// <summary>The qualified name of the counters table in <paramref name="schema"/>, for readers.</summary>
    public static string TableIn(string schema) => $"{schema}.{TableName}";

    /// <summary>
    /// Download totals per package (name, downloads): a row for every published package. The search projection inserts
    /// the zero row too (never anything else), so a package it shows always has one, whichever shard is ahead.
    /// </summary>
    public static string TotalsTableIn(string schema) => $"{schema}.{TotalsTableName}";

    /// <summary>The totals table's definition (name, downloads) with its most-downloaded-first index.</summary>
    private static Table DefineTotals(string schema)
    {
        var totals = new Table(new PostgresqlObjectName(schema, TotalsTableName, SchemaUtils.IdentifierUsage.General));
        totals.AddColumn<string>("name").AsPrimaryKey();
        totals.AddColumn<long>("downloads").NotNull();
        totals.Indexes.Add(new IndexDefinition("mkt_download_totals_top") { Columns = ["downloads"], SortOrder = SortOrder.Desc });
        return totals;
    }

    /// <summary>
    /// Queues a zero totals row for each of <paramref name="names"/> that has none (a row that exists is left as it is):
    /// what this projection writes for a publish, and what search writes for each package it shows.
    /// </summary>
    public static void QueueTotalsRows(IDocumentOperations operations, string totalsTable, IEnumerable<string> names) =>
        MultiRowInsert.Queue(operations, $"{totalsTable} (name, downloads)", "(?, 0)", names.Select(name => new object?[] { name }),
            "on conflict (name) do nothing");

    public DownloadCountsProjection(string schema)
    {
        Name = ProjectionName;
        Table = TableIn(schema);
        TotalsTable = TotalsTableIn(schema);
        Channel = Search.SearchProjection.NotifyChannel(schema);
        var table = new Table(new PostgresqlObjectName(schema, TableName, SchemaUtils.IdentifierUsage.General));
        table.AddColumn<string>("name").AsPrimaryKey();
        table.AddColumn<string>("version").AsPrimaryKey();
        table.AddColumn("day", "date").AsPrimaryKey();
        table.AddColumn<long>("count").NotNull();
        SchemaObjects.Add(table);
        SchemaObjects.Add(DefineTotals(schema));
        IncludeType<Downloaded>();
        IncludeType<PackagePublished>();
        Options.DeleteDataInTableOnTeardown(Table);
        Options.DeleteDataInTableOnTeardown(TotalsTable);
    }

    private string Table { get; }
    private string TotalsTable { get; }
    private string Channel { get; }

    /// <summary>One event at a time (the path Marten takes where it does not hand over a batch).</summary>
    public override ValueTask ApplyAsync(IDocumentOperations operations, IEvent e, CancellationToken cancellation)
    {
        Upsert(operations, [e]);
        ProjectionMetrics.Applied(ProjectionName, e);
        return ValueTask.CompletedTask;
    }

    Task IJasperFxProjection<IDocumentOperations>.ApplyAsync(
        IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
    {
        Upsert(operations, events);
        ProjectionMetrics.Applied(ProjectionName, events);
        return Task.CompletedTask;
    }

    private void Upsert(IDocumentOperations operations, IReadOnlyList<IEvent> events)
    {
        var counts = events.Select(e => e.Data).OfType<Downloaded>()
            .GroupBy(d => (d.Name, d.VersionKey, Day: DateOnly.FromDateTime(d.DownloadedAt.UtcDateTime)))
            .Select(g => (g.Key, Count: (long)g.Count()))
            .ToList();
        MultiRowInsert.Queue(operations, $"{Table} (name, version, day, count)", "(?, ?, ?, ?)",
            counts.Select(c => new object?[] { c.Key.Name, c.Key.VersionKey, c.Key.Day, c.Count }),
            $"on conflict (name, version, day) do update set count = {Table}.count + excluded.count");
        // A package's totals row from its first publish (0; nothing written where it exists), then its downloads added.
        var published = events.Select(e => e.Data).OfType<PackagePublished>().Select(p => p.Name).Distinct(StringComparer.Ordinal).ToList();
        QueueTotalsRows(operations, TotalsTable, published);
        MultiRowInsert.Queue(operations, $"{TotalsTable} (name, downloads)", "(?, ?)",
            counts.GroupBy(c => c.Key.Name, StringComparer.Ordinal).Select(g => new object?[] { g.Key, g.Sum(c => c.Count) }),
            $"on conflict (name) do update set downloads = {TotalsTable}.downloads + excluded.downloads");
        // The embedded search indexes rank by these totals: wake them when the batch commits, as search's own batches do.
        if (published.Count > 0 || counts.Count > 0) operations.QueueSqlCommand("select pg_notify(?, '')", Channel);
    }
}
