using JasperFx.Events;
using JasperFx.Events.Projections;
using Marketplace.Downloads;
using Marten;
using Marten.Events.Projections;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace Marketplace.Projections.Downloads;

/// <summary>
/// Download counts per package, version and UTC day, in a narrow table of counters. Each daemon batch is folded
/// in memory and written as one upsert per (package, version, day) — hot downloads must not rewrite a package's
/// whole document per event. The table is emptied and refilled when the projection is rebuilt; the daemon
/// commits each batch with its progress, so counts are exact, never doubled.
/// </summary>
public sealed class DownloadCountsProjection : EventProjection, IJasperFxProjection<IDocumentOperations>
{
    public const string ProjectionName = "DownloadCounts";

    private const string TableName = "mkt_download_counts";

    /// <summary>The qualified name of the counters table in <paramref name="schema"/>, for readers.</summary>
    public static string TableIn(string schema) => $"{schema}.{TableName}";

    public DownloadCountsProjection(string schema)
    {
        Name = ProjectionName;
        Table = TableIn(schema);
        var table = new Table(new PostgresqlObjectName(schema, TableName, SchemaUtils.IdentifierUsage.General));
        table.AddColumn<string>("name").AsPrimaryKey();
        table.AddColumn<string>("version").AsPrimaryKey();
        table.AddColumn("day", "date").AsPrimaryKey();
        table.AddColumn<long>("count").NotNull();
        SchemaObjects.Add(table);
        IncludeType<Downloaded>();
        Options.DeleteDataInTableOnTeardown(Table);
    }

    private string Table { get; }

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

    private void Upsert(IDocumentOperations operations, IEnumerable<IEvent> events)
    {
        var counts = events.Select(e => e.Data).OfType<Downloaded>()
            .GroupBy(d => (d.Name, d.VersionKey, Day: DateOnly.FromDateTime(d.DownloadedAt.UtcDateTime)))
            .Select(g => (g.Key, Count: (long)g.Count()))
            .ToList();
        MultiRowInsert.Queue(operations, $"{Table} (name, version, day, count)", "(?, ?, ?, ?)",
            counts.Select(c => new object?[] { c.Key.Name, c.Key.VersionKey, c.Key.Day, c.Count }),
            $"on conflict (name, version, day) do update set count = {Table}.count + excluded.count");
    }
}
