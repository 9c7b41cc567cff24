using System.Text;
using System.Text.Json;
using Marketplace.Functions.Infrastructure;
using Marketplace.Projections.Downloads;
using Marketplace.Projections.Search;
using Marketplace.Search;
using Marten;

namespace Marketplace.Functions.Search.Postgres;

/// <summary>
/// Full-text search over the <see cref="SearchProjection"/> table, one parameterised statement per query: the
/// matching packages (text match on the weighted <c>tsvector</c>, or a trigram-similar or prefix name), their
/// count, the page in the chosen order with highlights, and the four facets over the whole filtered result.
/// </summary>
/// <remarks>
/// Relevance = (2 × text rank + name bonus + ½ name similarity) × (1 + ln(1 + downloads) / 4). The text rank weighs
/// the fields (name 1, keywords 0.6, description 0.3, authors 0.1) and is scaled into [0, 1) (<c>rank/(rank+1)</c>)
/// so that repeating a word does not outweigh popularity. The name bonus is 20 for the exact name, so an exact name
/// comes first whatever its downloads, and 0.3 for a name that starts with the query; the trigram similarity of the
/// name to the query favours close names and carries typo matches. At equal
/// text match the more downloaded package comes first, and popularity weighs enough that a popular
/// <c>serde-json</c> ranks above an obscure <c>json-csv</c> for <c>json</c>. Query words are letters and digits only
/// (<see cref="SearchQuery.Words"/>), each matched as a prefix after English stemming; nothing the user types
/// reaches the SQL text.
/// </remarks>
public sealed class PostgresSearch(IDocumentStore store) : IPackageSearch
{
    private readonly string _table = SearchProjection.TableIn(store.Options.DatabaseSchemaName);
    private readonly string _facets = SearchProjection.FacetsTableIn(store.Options.DatabaseSchemaName);
    private readonly string _downloads = DownloadCountsProjection.TotalsTableIn(store.Options.DatabaseSchemaName);

    public string ProgressionName => SearchProjection.ProgressionName;

    /// <summary>Below this many text matches, names similar to the query (typos) are searched too.</summary>
    public const int TypoThreshold = 20;

    private sealed record Row(string Name, string Version, string? Description, string[] Keywords, string[] Categories,
        string[] Authors, long Downloads, double Score, string? DescriptionHighlight);

    private sealed record Answer(long Total, Row[] Hits, FacetCount[] Category, FacetCount[] Keyword, FacetCount[] Author, FacetCount[] License);

    public async Task<SearchResult> SearchAsync(SearchQuery query, CancellationToken ct)
    {
        var (sql, parameters) = Build(query);
        await using var session = store.QuerySession();
        var rows = await session.QueryAsync<string>(sql, ct, parameters);
        var answer = JsonSerializer.Deserialize<Answer>(rows[0], BoundedJson.Options)!;
        var hits = answer.Hits.Select(h => new SearchHit(h.Name, h.Version, h.Description, h.Keywords, h.Categories, h.Downloads,
            Math.Round(h.Score, 6), Highlights(query, h))).ToList();
        return new SearchResult(answer.Total, hits, new SearchFacets(answer.Category, answer.Keyword, answer.Author, answer.License));
    }

    private sealed record Suggested(string Name, string Version, string? Description);

    /// <summary>
    /// Names starting with the prefix (the trigram index answers <c>like 'p%'</c> from 3 characters; shorter prefixes
    /// read the table): the exact name first, then the most downloaded. Correct, not fast: every matching name is
    /// read to sort by downloads.
    /// </summary>
    public async Task<SuggestResult> SuggestAsync(SuggestQuery query, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        // The prefix holds only a-z, 0-9 and '-' (SuggestQuery): no LIKE wildcard can reach the pattern.
        var rows = await session.QueryAsync<string>(
            $"select coalesce(json_agg(json_build_object('name', t.name, 'version', t.version, 'description', t.description) " +
            $"order by t.at), '[]')::text from " +
            $"(select s.name, s.version, s.description, row_number() over (order by s.name = ? desc, d.downloads desc, s.name) as at " +
            $"from {_table} s join {_downloads} d on d.name = s.name where s.visible and s.name like ? " +
            $"order by s.name = ? desc, d.downloads desc, s.name limit {SuggestQuery.Size}) t",
            ct, query.Prefix, query.Prefix + "%", query.Prefix);
        var suggested = JsonSerializer.Deserialize<Suggested[]>(rows[0], BoundedJson.Options)!;
        return new SuggestResult(suggested.Select(s => new Suggestion(s.Name, s.Version, s.Description)).ToList());
    }

    /// <summary>The statement and its positional parameters (exposed for the query-plan checks of the tests and benchmark).</summary>
    /// <remarks>
    /// The query's values are written as parameters where they are used (not through a CTE): the planner then sees
    /// the actual tsquery and name, estimates how many packages match, and picks hash joins for the large matches.
    /// </remarks>
    public (string Sql, object[] Parameters) Build(SearchQuery query)
    {
        if (query is { IsEmpty: true, Category: null, Keyword: null, Author: null, License: null, MinDownloads: 0 })
            return Listing(query);
        var parameters = new List<object>();
        string P(object value)
        {
            parameters.Add(value);
            return "?";
        }
        // 'w1':* & 'w2':* — words are letters and digits only, so they cannot carry tsquery syntax.
        var tsquery = string.Join(" & ", query.Words.Select(w => w + ":*"));
        var name = string.Join('-', query.Words);
        var score = query.IsEmpty
            ? "ln(1 + d.downloads)"
            : $"(2 * ts_rank('{{0.1, 0.3, 0.6, 1.0}}', s.document, to_tsquery('english', {P(tsquery)}), 32)"
              + $" + case when s.name = {P(name)} then 20 when s.name like {P(name + "%")} then 0.3 else 0 end"
              + $" + 0.5 * similarity(s.name, {P(name)})) * (1 + ln(1 + d.downloads) / 4)";
        // The three ways to match, each answered by its own index (GIN on the tsvector, trigram GIN on the name),
        // united by name: one OR of the three lets the planner choose a sequential scan that computes a trigram
        // similarity for every row (measured 241 ms for one word at 100,000 packages, 72 ms as a union).
        var source = query.IsEmpty
            ? $"{_table} s join {_downloads} d on d.name = s.name"
            : $"(select name from {_table} where document @@ to_tsquery('english', {P(tsquery)}) " +
              $"union select name from {_table} where name like {P(name + "%")} " +
              // Typo tolerance when the words themselves find less than a page (as Typesense's
              // typo_tokens_threshold): a common word does not pay for a trigram pass over similar names.
              $"union select name from {_table} where name % {P(name)} and (select count(*) from " +
              $"(select 1 from {_table} where document @@ to_tsquery('english', {P(tsquery)}) limit {TypoThreshold}) t) < {TypoThreshold}" +
              $") m join {_table} s on s.name = m.name join {_downloads} d on d.name = s.name";
        var where = new StringBuilder("s.visible");
        if (query.Category is { } category) where.Append($" and s.categories @> array[{P(category)}]::text[]");
        if (query.Keyword is { } keyword) where.Append($" and s.keywords @> array[{P(keyword)}]::text[]");
        if (query.Author is { } author) where.Append($" and s.authors @> array[{P(author)}]::text[]");
        if (query.License is { } license) where.Append($" and s.license = {P(license)}");
        if (query.MinDownloads > 0) where.Append($" and d.downloads >= {P(query.MinDownloads)}");
        var order = query.Sort switch
        {
            SearchSort.Downloads => "downloads desc, name",
            SearchSort.Recent => "updated_at desc, name",
            _ => "score desc, downloads desc, name",
        };
        var page = $"limit {P(query.Limit)} offset {P(query.Offset)}";
        var highlight = query.IsEmpty
            ? "null"
            : $"case when s.description is not null then ts_headline('english', s.description, to_tsquery('english', {P(tsquery)}), " +
              "'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=10, MaxFragments=2') end";
        var facets = SearchQuery.FacetValues;
        var sql = $"""
            with matched as materialized (
                select s.name, d.downloads, s.updated_at, s.categories, s.keywords, s.authors, s.license, {score} as score
                from {source} where {where}),
            page as (select name, score, downloads, row_number() over (order by {order}) as at from matched order by {order} {page})
            select json_build_object(
                'total', (select count(*) from matched),
                'hits', coalesce((select json_agg(json_build_object(
                        'name', s.name, 'version', s.version, 'description', s.description, 'keywords', s.keywords,
                        'categories', s.categories, 'authors', s.authors, 'downloads', p.downloads, 'score', p.score,
                        'descriptionHighlight', {highlight})
                    order by p.at) from page p join {_table} s on s.name = p.name), '[]'),
                'category', {Facet("unnest(m.categories)", facets)},
                'keyword', {Facet("unnest(m.keywords)", facets)},
                'author', {Facet("unnest(m.authors)", facets)},
                'license', {Facet("m.license", facets)})::text
            """;
        return (sql, parameters.ToArray());
    }

    /// <summary>
    /// No text and no filter: the page straight from the sort's index, and the total and facets from the counters
    /// the projection keeps (<see cref="SearchProjection.FacetsTableIn"/>) — no pass over every package.
    /// </summary>
    private (string Sql, object[] Parameters) Listing(SearchQuery query)
    {
        // Most downloaded: walk the totals' index and look each row up; most recent: walk updated_at's index.
        var order = query.Sort == SearchSort.Recent ? "s.updated_at desc, s.name" : "d.downloads desc, d.name";
        var sql = $"""
            select json_build_object(
                'total', coalesce((select f.count from {_facets} f where f.facet = '{SearchProjection.TotalFacet}' and f.value = ''), 0),
                'hits', coalesce((select json_agg(json_build_object(
                        'name', s.name, 'version', s.version, 'description', s.description, 'keywords', s.keywords,
                        'categories', s.categories, 'authors', s.authors, 'downloads', s.downloads, 'score', ln(1 + s.downloads))
                    order by s.at) from (select s.*, d.downloads, row_number() over (order by {order}) as at
                        from {_table} s join {_downloads} d on d.name = s.name
                        where s.visible order by {order} limit ? offset ?) s), '[]'),
                'category', {Counted("category")}, 'keyword', {Counted("keyword")},
                'author', {Counted("author")}, 'license', {Counted("license")})::text
            """;
        return (sql, [query.Limit, query.Offset]);
    }

    private string Counted(string facet) =>
        $"coalesce((select json_agg(json_build_object('value', f.value, 'count', f.count) order by f.count desc, f.value) from " +
        $"(select value, count from {_facets} where facet = '{facet}' and count > 0 " +
        $"order by count desc, value limit {SearchQuery.FacetValues}) f), '[]')";

    private static string Facet(string values, int top) =>
        $"coalesce((select json_agg(json_build_object('value', v, 'count', c) order by c desc, v) from " +
        $"(select v, count(*) as c from (select {values} as v from matched m) x " +
        $"where v is not null group by v order by c desc, v limit {top}) f), '[]')";

    private static List<SearchHighlight> Highlights(SearchQuery query, Row hit)
    {
        var highlights = new List<SearchHighlight>();
        if (query.IsEmpty) return highlights;
        if (Mark(hit.Name, query.Words) is { } name) highlights.Add(new SearchHighlight("name", name));
        // ts_headline marks the description's words but does not escape its text.
        if (hit.DescriptionHighlight is { } d && d.Contains("<mark>", StringComparison.Ordinal))
            highlights.Add(new SearchHighlight("description", HighlightHtml.Escape(d)));
        foreach (var keyword in hit.Keywords)
            if (Mark(keyword, query.Words) is { } k) highlights.Add(new SearchHighlight("keywords", k));
        foreach (var author in hit.Authors)
            if (Mark(author, query.Words) is { } a) highlights.Add(new SearchHighlight("authors", a));
        return highlights;
    }

    /// <summary>
    /// Wraps in <c>&lt;mark&gt;</c> each word of <paramref name="text"/> that starts with a query word (the way
    /// the text search matched it); null when nothing matches. The text is HTML-escaped first.
    /// </summary>
    public static string? Mark(string text, IReadOnlyList<string> words)
    {
        var output = new StringBuilder(text.Length + 16);
        var marked = false;
        var i = 0;
        while (i < text.Length)
        {
            if (!char.IsLetterOrDigit(text[i]))
            {
                output.Append(System.Net.WebUtility.HtmlEncode(text[i].ToString()));
                i++;
                continue;
            }
            var end = i;
            while (end < text.Length && char.IsLetterOrDigit(text[end])) end++;
            var word = text[i..end];
            var match = words.Where(w => word.StartsWith(w, StringComparison.OrdinalIgnoreCase)).Select(w => w.Length).DefaultIfEmpty(0).Max();
            if (match > 0)
            {
                output.Append("<mark>").Append(System.Net.WebUtility.HtmlEncode(word[..match])).Append("</mark>")
                    .Append(System.Net.WebUtility.HtmlEncode(word[match..]));
                marked = true;
            }
            else output.Append(System.Net.WebUtility.HtmlEncode(word));
            i = end;
        }
        return marked ? output.ToString() : null;
    }
}
