using System.Text.Json;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marketplace.Packages;
using Marketplace.Projections.Downloads;
using Marketplace.Search;
using Marten;
using Marten.Events.Projections;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace Marketplace.Projections.Search;

/// <summary>
/// The PostgreSQL search documents: one row per package in <c>mkt_search</c>, holding the shown version's
/// text and facets, a weighted <c>tsvector</c> (name A, keywords B, description C, authors D) under
/// a GIN index, and a trigram index on the name for typo-tolerant and prefix matching. A side table keeps the
/// package's <see cref="SearchEntry"/> (every version's searchable fields) as JSON, so a yank can fall back to
/// the newest non-yanked version without reading the stream, and the searched rows stay narrow. Each daemon batch reads the rows it touches once,
/// folds the batch in memory and writes one upsert per changed package. Download totals are the download counters'
/// (<see cref="DownloadCountsProjection.TotalsTableIn"/>, a narrow table: a download must not rewrite the wide row and
/// every GIN index entry with it); this projection reads no <c>Downloaded</c> event and only makes sure each package it
/// writes has its totals row (0 if the counters have not reached its publish yet), so searches join on it.
/// </summary>
public sealed class SearchProjection : EventProjection, IJasperFxProjection<IDocumentOperations>
{
    public const string ProjectionName = "Search";
    /// <summary>The row of <c>mt_event_progression</c> that says how far search has read the log.</summary>
    public const string ProgressionName = ProjectionName + ":All";
    private const string TableName = "mkt_search";
    private const string FacetsTableName = "mkt_search_facets";
    private const string EntriesTableName = "mkt_search_entries";

    /// <summary>
    /// Each package's <see cref="SearchEntry"/> (every version's searchable fields) as JSON: the projection's own state, kept out
    /// of the searched rows.
    /// </summary>
    public static string EntriesTableIn(string schema) => $"{schema}.{EntriesTableName}";

    public static string TableIn(string schema) => $"{schema}.{TableName}";

    /// <summary>
    /// The channel each batch NOTIFYs when it commits (with the progression): embedded search indexes LISTEN on it to
    /// catch up at once instead of at their next poll. One per schema (channels are per database).
    /// </summary>
    public static string NotifyChannel(string schema) => $"mkt_search_{schema}";

    /// <summary>
    /// Facet counts over every visible package (<c>facet</c> = category, keyword, author or license; the row
    /// <c>('total', '')</c> counts visible packages), kept by the same batches as the search rows: what an
    /// unfiltered listing shows without counting 100,000 rows per request.
    /// </summary>
    public static string FacetsTableIn(string schema) => $"{schema}.{FacetsTableName}";

    public const string TotalFacet = "total";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public SearchProjection(string schema)
    {
        Name = ProjectionName;
        Table = TableIn(schema);
        Channel = NotifyChannel(schema);
        SchemaObjects.Add(new Extension("pg_trgm"));
        var table = new Table(new PostgresqlObjectName(schema, TableName, SchemaUtils.IdentifierUsage.General));
        table.AddColumn<string>("name").AsPrimaryKey();
        table.AddColumn<string>("display_name").NotNull();
        table.AddColumn<string>("version");
        table.AddColumn<string>("description");
        table.AddColumn("keywords", "text[]").NotNull().DefaultValueByExpression("'{}'");
        table.AddColumn("categories", "text[]").NotNull().DefaultValueByExpression("'{}'");
        table.AddColumn("authors", "text[]").NotNull().DefaultValueByExpression("'{}'");
        table.AddColumn<string>("license");
        table.AddColumn("updated_at", "timestamp with time zone");
        table.AddColumn<bool>("visible").NotNull().DefaultValueByExpression("false");
        table.AddColumn("document", "tsvector");
        table.Indexes.Add(new IndexDefinition("mkt_search_document") { Method = IndexMethod.gin, Columns = ["document"] });
        table.Indexes.Add(new IndexDefinition("mkt_search_name_trgm") { Method = IndexMethod.gin, Columns = ["name"], Mask = "? gin_trgm_ops" });
        table.Indexes.Add(new IndexDefinition("mkt_search_keywords") { Method = IndexMethod.gin, Columns = ["keywords"] });
        table.Indexes.Add(new IndexDefinition("mkt_search_categories") { Method = IndexMethod.gin, Columns = ["categories"] });
        table.Indexes.Add(new IndexDefinition("mkt_search_authors") { Method = IndexMethod.gin, Columns = ["authors"] });
        table.Indexes.Add(new IndexDefinition("mkt_search_license") { Columns = ["license"] });
        table.Indexes.Add(new IndexDefinition("mkt_search_updated") { Columns = ["updated_at"], SortOrder = SortOrder.Desc });
        SchemaObjects.Add(table);
        var facets = new Table(new PostgresqlObjectName(schema, FacetsTableName, SchemaUtils.IdentifierUsage.General));
        facets.AddColumn<string>("facet").AsPrimaryKey();
        facets.AddColumn<string>("value").AsPrimaryKey();
        facets.AddColumn<long>("count").NotNull();
        facets.Indexes.Add(new IndexDefinition("mkt_search_facets_top") { Columns = ["facet", "count"] });
        SchemaObjects.Add(facets);
        FacetsTable = FacetsTableIn(schema);
        DownloadsTable = DownloadCountsProjection.TotalsTableIn(schema);
        var entries = new Table(new PostgresqlObjectName(schema, EntriesTableName, SchemaUtils.IdentifierUsage.General));
        entries.AddColumn<string>("name").AsPrimaryKey();
        entries.AddColumn("entry", "jsonb").NotNull();
        SchemaObjects.Add(entries);
        EntriesTable = EntriesTableIn(schema);
        IncludeType<PackagePublished>();
        IncludeType<VersionYanked>();
        IncludeType<VersionUnyanked>();
        Options.DeleteDataInTableOnTeardown(Table);
        Options.DeleteDataInTableOnTeardown(FacetsTable);
        Options.DeleteDataInTableOnTeardown(EntriesTable);
    }

    private string Table { get; }
    private string Channel { get; }
    private string FacetsTable { get; }
    private string DownloadsTable { get; }
    private string EntriesTable { get; }

    public override async ValueTask ApplyAsync(IDocumentOperations operations, IEvent e, CancellationToken cancellation) =>
        await ApplyBatchAsync(operations, [e], cancellation);

    Task IJasperFxProjection<IDocumentOperations>.ApplyAsync(
        IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation) =>
        ApplyBatchAsync(operations, events, cancellation);

    private async Task ApplyBatchAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken ct)
    {
        var changed = events.Where(e => e.Data is IVersionEvent).Select(e => ((IPackageEvent)e.Data).Name).Distinct().ToArray();
        if (changed.Length > 0)
        {
            var entries = new Dictionary<string, SearchEntry>(StringComparer.Ordinal);
            var rows = await operations.QueryAsync<string>($"select entry::text from {EntriesTable} where name = any(?)", ct, [changed]);
            foreach (var row in rows)
            {
                var entry = JsonSerializer.Deserialize<SearchEntry>(row, Json)!;
                entries[entry.Name] = entry;
            }
            var facetsBefore = entries.ToDictionary(p => p.Key, p => FacetsOf(p.Value), StringComparer.Ordinal);
            var dirty = new HashSet<string>(StringComparer.Ordinal);
            foreach (var e in events)
            {
                if (e.Data is not IVersionEvent v) continue;
                if (!entries.TryGetValue(v.Name, out var entry))
                    entries[v.Name] = entry = new SearchEntry { Name = v.Name, DisplayName = v.Name };
                if (entry.Apply(e.Data)) dirty.Add(v.Name);
            }
            var deltas = new Dictionary<(string Facet, string Value), long>();
            foreach (var name in dirty)
            {
                Upsert(operations, entries[name]);
                foreach (var f in facetsBefore.GetValueOrDefault(name) ?? []) deltas[f] = deltas.GetValueOrDefault(f) - 1;
                foreach (var f in FacetsOf(entries[name])) deltas[f] = deltas.GetValueOrDefault(f) + 1;
            }
            AddToFacets(operations, deltas.Where(d => d.Value != 0).ToList());
            // Searches join on the totals: a package shown here has its row even before the counters reach its publish.
            DownloadCountsProjection.QueueTotalsRows(operations, DownloadsTable, dirty);
        }

        // Delivered when the batch and its progression commit, never before.
        operations.QueueSqlCommand("select pg_notify(?, '')", Channel);
        ProjectionMetrics.Applied(ProjectionName, events);
    }

    /// <summary>The facet values an entry counts for while visible, and the total.</summary>
    private static List<(string Facet, string Value)> FacetsOf(SearchEntry entry)
    {
        if (entry.Shown is not { } shown) return [];
        var facets = new List<(string, string)> { (TotalFacet, "") };
        facets.AddRange(shown.Categories.Distinct().Select(c => ("category", c)));
        facets.AddRange(shown.Keywords.Distinct().Select(k => ("keyword", k)));
        facets.AddRange(shown.Authors.Distinct().Select(a => ("author", a)));
        if (shown.License is { } license) facets.Add(("license", license));
        return facets;
    }

    private void AddToFacets(IDocumentOperations operations, IReadOnlyList<KeyValuePair<(string Facet, string Value), long>> deltas)
    {
        MultiRowInsert.Queue(operations, $"{FacetsTable} (facet, value, count)", "(?, ?, ?)",
            deltas.Select(d => new object?[] { d.Key.Facet, d.Key.Value, d.Value }),
            $"on conflict (facet, value) do update set count = {FacetsTable}.count + excluded.count");
    }

    private void Upsert(IDocumentOperations operations, SearchEntry entry)
    {
        var shown = entry.Shown ?? entry.Versions.LastOrDefault() ?? new SearchVersion();
        var nameWords = entry.Name + " " + entry.Name.Replace('-', ' ');
        operations.QueueSqlCommand(
            $"""
             insert into {Table} (name, display_name, version, description, keywords, categories, authors, license, updated_at, visible, document)
             values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                     setweight(to_tsvector('simple', ?), 'A') || setweight(to_tsvector('english', ?), 'B')
                     || setweight(to_tsvector('english', ?), 'C') || setweight(to_tsvector('simple', ?), 'D'))
             on conflict (name) do update set display_name = excluded.display_name, version = excluded.version,
                 description = excluded.description, keywords = excluded.keywords, categories = excluded.categories,
                 authors = excluded.authors, license = excluded.license, updated_at = excluded.updated_at,
                 visible = excluded.visible, document = excluded.document
             """,
            entry.Name, entry.DisplayName, shown.Version, (object?)shown.Description ?? DBNull.Value,
            shown.Keywords.ToArray(), shown.Categories.ToArray(), shown.Authors.ToArray(), (object?)shown.License ?? DBNull.Value,
            entry.UpdatedAt, entry.Visible,
            nameWords, string.Join(' ', shown.Keywords), shown.Description ?? "", string.Join(' ', shown.Authors));
        operations.QueueSqlCommand(
            $"insert into {EntriesTable} (name, entry) values (?, ?::jsonb) on conflict (name) do update set entry = excluded.entry",
            entry.Name, JsonSerializer.Serialize(entry, Json));
    }
}
