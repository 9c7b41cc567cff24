using System.Text.Json;
using Alba;
using Marketplace.Projections.Search;
using Marketplace.Search;
using Marketplace.Testing;
using Marketplace.Tests.Support;
using Marten;

namespace Marketplace.Tests.Search;

/// <summary>The search scenarios on the PostgreSQL adapter.</summary>
[Collection("search")]
public sealed class PostgresSearchScenarios(SearchFixture fixture) : SearchScenarios(fixture, fixture.Host);

/// <summary>
/// The search scenarios on the embedded index of an instance that does not run the daemon, and what only it does:
/// typos in any word (not only the name), one edit from four characters and two from seven, as Typesense.
/// </summary>
[Collection("search")]
public sealed class EmbeddedSearchScenarios(SearchFixture fixture) : SearchScenarios(fixture, fixture.EmbeddedHost)
{
    private readonly SearchFixture _fixture = fixture;

    [Theory]
    [InlineData("frobnicatr", "frob-gamma")] // one edit in a word of the description
    [InlineData("frbonicatro", "frob-gamma")] // two edits from seven characters
    [InlineData("srede", "serde")] // one edit from four characters
    [InlineData("serialisation", "serde")] // a keyword, one edit
    public async Task a_typo_in_any_word_still_finds_the_package(string q, string expected)
    {
        var result = (await _fixture.EmbeddedHost.GetJson($"/v1/search?q={q}")).GetProperty("hits").EnumerateArray().Select(h => h.GetProperty("name").GetString()).ToList();
        Assert.Contains(expected, result.Take(3));
    }

    [Fact]
    public async Task a_snippet_keeps_the_text_of_markup_escaped()
    {
        // PostgreSQL's ts_headline drops what its parser takes for tags; this index keeps the text, escaped.
        var hit = (await _fixture.EmbeddedHost.GetJson("/v1/search?q=markup")).GetProperty("hits").EnumerateArray()
            .Single(h => h.GetProperty("name").GetString() == SearchFixture.Markup.Name);
        Assert.Contains(hit.GetProperty("highlights").EnumerateArray(), h => h.GetProperty("field").GetString() == "description"
            && h.GetProperty("snippet").GetString() == "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt; &amp; &lt;b&gt;<mark>markup</mark>&lt;/b&gt; widget, 1 &lt; 2 &gt; 0");
    }

    [Theory]
    [InlineData("jsn", "json")] // three characters: no typo allowed
    [InlineData("srdee", "serde")] // two edits in five characters: one allowed
    [InlineData("frbnoicatro", "frob-gamma")] // three edits
    public async Task a_word_too_short_for_its_typos_does_not_match(string q, string notExpected)
    {
        var hits = (await _fixture.EmbeddedHost.GetJson($"/v1/search?q={q}&limit=100")).GetProperty("hits").EnumerateArray().Select(h => h.GetProperty("name").GetString()).ToList();
        Assert.DoesNotContain(notExpected, hits);
    }
}

/// <summary>
/// <c>GET /v1/search</c> and <c>GET /v1/search/suggest</c> over the generated corpus, on each adapter kept: ranking,
/// prefixes, typos, every filter and facet against counts taken from the corpus itself, sorting, paging, escaped
/// highlights, yanked packages, and hostile input.
/// </summary>
public abstract class SearchScenarios(SearchFixture fixture, IAlbaHost host)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private async Task<SearchResult> Search(string query)
    {
        var json = await host.GetJson("/v1/search" + query);
        return json.Deserialize<SearchResult>(Json)!;
    }

    private async Task<SuggestResult> Suggest(string prefix)
    {
        var json = await host.GetJson("/v1/search/suggest?q=" + Uri.EscapeDataString(prefix));
        return json.Deserialize<SuggestResult>(Json)!;
    }

    private static string Q(string text) => Uri.EscapeDataString(text);

    [Theory]
    [InlineData("serde-json", "serde-json")]
    [InlineData("serde", "serde")]
    [InlineData("tokio", "tokio")]
    [InlineData("Serde_JSON", "serde-json")]
    public async Task an_exact_name_comes_first(string q, string expected)
    {
        var result = await Search($"?q={Q(q)}");
        Assert.Equal(expected, result.Hits[0].Name);
    }

    [Fact]
    public async Task an_exact_name_beats_far_more_popular_packages_that_match_as_well()
    {
        // "json" has 40 downloads; serde-json 5,000, and many json-* packages match the word in name and keywords.
        var result = await Search("?q=json&limit=20");
        Assert.Equal("json", result.Hits[0].Name);
        Assert.Contains(result.Hits.Skip(1), h => h.Downloads > 100 * result.Hits[0].Downloads);
        // The most popular package with the word in its name comes before obscure ones that start with it.
        Assert.Equal("serde-json", result.Hits[1].Name);
    }

    [Theory]
    [InlineData("frob")]
    [InlineData("widgets")]
    [InlineData("frobnicator")]
    public async Task at_equal_text_match_the_more_downloaded_package_comes_first(string q)
    {
        // frob-alpha, frob-gamma and frob-delta have the same text and names of the same shape; only downloads differ.
        var result = await Search($"?q={q}");
        Assert.Equal(["frob-gamma", "frob-alpha", "frob-delta"], result.Hits.Where(h => h.Name.StartsWith("frob-", StringComparison.Ordinal)).Select(h => h.Name));
    }

    [Theory]
    [InlineData("serde-jsn", "serde-json")]
    [InlineData("sedre-json", "serde-json")]
    [InlineData("tokoi", "tokio")]
    public async Task a_typo_in_a_name_still_finds_the_package(string q, string expected)
    {
        var result = await Search($"?q={Q(q)}");
        Assert.Contains(expected, result.Hits.Take(3).Select(h => h.Name));
    }

    [Theory]
    [InlineData("tok", "tokio")]
    [InlineData("serd", "serde")]
    [InlineData("serde-jso", "serde-json")]
    [InlineData("frobnic", "frob-gamma")]
    public async Task a_prefix_finds_packages_as_the_user_types(string q, string expected)
    {
        var result = await Search($"?q={Q(q)}");
        Assert.Contains(expected, result.Hits.Take(2).Select(h => h.Name));
    }

    [Fact]
    public async Task a_description_with_markup_comes_back_escaped_with_only_mark_tags()
    {
        var result = await Search("?q=markup");
        var hit = Assert.Single(result.Hits, h => h.Name == SearchFixture.Markup.Name);
        // The description itself is data (JSON), but a snippet is HTML: escaped text with <mark> as its only tag.
        Assert.Equal(SearchFixture.Markup.Shown!.Manifest.Description, hit.Description);
        var description = Assert.Single(hit.Highlights, h => h.Field == "description").Snippet;
        Assert.Contains("<mark>markup</mark>", description, StringComparison.Ordinal);
        foreach (var snippet in result.Hits.SelectMany(h => h.Highlights).Select(h => h.Snippet))
            Assert.Empty(System.Text.RegularExpressions.Regex.Matches(snippet, "<(?!/?mark>)"));
    }

    [Fact]
    public async Task suggest_lists_the_most_downloaded_names_that_start_with_the_prefix_exact_name_first()
    {
        var visible = fixture.Visible.ToList();
        foreach (var prefix in new[] { "json", "serde", "frob-", "t", "http-c" })
        {
            var expected = visible.Where(p => p.Name.StartsWith(prefix, StringComparison.Ordinal))
                .OrderByDescending(p => p.Name == prefix).ThenByDescending(p => p.Downloads).ThenBy(p => p.Name, StringComparer.Ordinal)
                .Take(SuggestQuery.Size).ToList();
            Assert.NotEmpty(expected);
            var suggested = await Suggest(prefix);
            Assert.Equal(expected.Select(p => (p.Name, p.Shown!.Version, p.Shown.Manifest.Description)),
                suggested.Suggestions.Select(s => (s.Name, s.Version, s.Description)));
        }
        Assert.Equal("serde-json", (await Suggest("Serde_J")).Suggestions[0].Name);
        Assert.Empty((await Suggest("zzzz-no-such-name")).Suggestions);
        // Names with every version yanked are never suggested.
        var hidden = fixture.Corpus.First(p => p.Versions.All(v => v.Yanked));
        Assert.DoesNotContain((await Suggest(hidden.Name)).Suggestions, s => s.Name == hidden.Name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("?q=")]
    [InlineData("?q=%20%20")]
    [InlineData("?q=json%25")]
    [InlineData("?q=%3Cscript%3E")]
    [InlineData("?q=%01a")]
    public async Task a_bad_suggest_prefix_is_invalid_query(string query)
    {
        var (status, code, _) = await host.Send(s => s.Get.Url("/v1/search/suggest" + query));
        Assert.Equal((400, "invalid-query"), (status, code));
        var (tooLong, tooLongCode, _) = await host.Send(s => s.Get.Url("/v1/search/suggest?q=" + new string('a', 65)));
        Assert.Equal((400, "invalid-query"), (tooLong, tooLongCode));
    }

    [Fact]
    public async Task an_empty_query_lists_every_visible_package_by_the_chosen_sort()
    {
        var visible = fixture.Visible.ToList();
        var byDownloads = await Search("?sort=downloads&limit=50");
        Assert.Equal(visible.Count, byDownloads.Total);
        var expected = visible.OrderByDescending(p => p.Downloads).ThenBy(p => p.Name, StringComparer.Ordinal).Take(50).Select(p => p.Name);
        Assert.Equal(expected, byDownloads.Hits.Select(h => h.Name));

        var recent = await Search("?sort=recent&limit=30");
        Assert.Equal(visible.OrderByDescending(fixture.UpdatedAt).ThenBy(p => p.Name, StringComparer.Ordinal).Take(30).Select(p => p.Name),
            recent.Hits.Select(h => h.Name));

        // Relevance without text: popularity.
        var relevance = await Search("?limit=10");
        Assert.Equal(expected.Take(10), relevance.Hits.Select(h => h.Name));

        // The facets of the whole registry (kept as counters by the projection) equal a direct count.
        AssertFacet(visible.SelectMany(p => p.Shown!.Manifest.Categories!), byDownloads.Facets.Category);
        AssertFacet(visible.SelectMany(p => p.Shown!.Manifest.Keywords!), byDownloads.Facets.Keyword);
        AssertFacet(visible.SelectMany(p => p.Shown!.Manifest.Authors!), byDownloads.Facets.Author);
        AssertFacet(visible.Select(p => p.Shown!.Manifest.License!), byDownloads.Facets.License);
        Assert.Equal(byDownloads.Facets.Keyword, recent.Facets.Keyword);
        var deep = await Search($"?sort=downloads&limit=100&offset={visible.Count - 30}");
        Assert.Equal(visible.OrderByDescending(p => p.Downloads).ThenBy(p => p.Name, StringComparer.Ordinal).Skip(visible.Count - 30).Select(p => p.Name),
            deep.Hits.Select(h => h.Name));
    }

    public static TheoryData<string, Func<CorpusPackage, bool>> Filters()
    {
        var data = new TheoryData<string, Func<CorpusPackage, bool>>
        {
            { "category=parsing", p => p.Shown!.Manifest.Categories!.Contains("parsing") },
            { "category=PARSING", p => p.Shown!.Manifest.Categories!.Contains("parsing") },
            { "keyword=json", p => p.Shown!.Manifest.Keywords!.Contains("json") },
            { "author=" + Uri.EscapeDataString("grace lovelace"), p => p.Shown!.Manifest.Authors!.Contains("grace lovelace") },
            { "license=" + Uri.EscapeDataString("MIT OR Apache-2.0"), p => p.Shown!.Manifest.License == "MIT OR Apache-2.0" },
            { "minDownloads=100", p => p.Downloads >= 100 },
            { "category=web&keyword=http&minDownloads=1", p => p.Shown!.Manifest.Categories!.Contains("web") && p.Shown.Manifest.Keywords!.Contains("http") && p.Downloads >= 1 },
        };
        return data;
    }

    [Theory]
    [MemberData(nameof(Filters))]
    public async Task each_filter_and_each_facet_count_match_a_direct_count(string filter, Func<CorpusPackage, bool> predicate)
    {
        var expected = fixture.Visible.Where(predicate).ToList();
        Assert.NotEmpty(expected);
        var result = await Search($"?{filter}&sort=downloads&limit=100");
        Assert.Equal(expected.Count, result.Total);
        Assert.Equal(expected.OrderByDescending(p => p.Downloads).ThenBy(p => p.Name, StringComparer.Ordinal).Take(100).Select(p => p.Name),
            result.Hits.Select(h => h.Name));

        AssertFacet(expected.SelectMany(p => p.Shown!.Manifest.Categories!), result.Facets.Category);
        AssertFacet(expected.SelectMany(p => p.Shown!.Manifest.Keywords!), result.Facets.Keyword);
        AssertFacet(expected.SelectMany(p => p.Shown!.Manifest.Authors!), result.Facets.Author);
        AssertFacet(expected.Select(p => p.Shown!.Manifest.License!), result.Facets.License);
    }

    private static void AssertFacet(IEnumerable<string> values, IReadOnlyList<FacetCount> facet)
    {
        var counts = values.GroupBy(v => v, StringComparer.Ordinal).Select(g => new FacetCount(g.Key, g.Count()))
            .OrderByDescending(c => c.Count).ThenBy(c => c.Value, StringComparer.Ordinal).Take(SearchQuery.FacetValues).ToList();
        Assert.Equal(counts, facet);
    }

    [Fact]
    public async Task facets_of_a_text_query_count_the_whole_result_not_the_page()
    {
        var first = await Search("?q=redis&limit=100");
        Assert.InRange(first.Total, 21, 2_000);
        var all = new List<SearchHit>(first.Hits);
        for (var offset = 100; offset < first.Total; offset += 100)
            all.AddRange((await Search($"?q=redis&limit=100&offset={offset}")).Hits);
        Assert.Equal(first.Total, all.Count);
        var byName = fixture.Corpus.ToDictionary(p => p.Name);
        AssertFacet(all.SelectMany(h => h.Categories), first.Facets.Category);
        AssertFacet(all.SelectMany(h => h.Keywords), first.Facets.Keyword);
        AssertFacet(all.Select(h => byName[h.Name].Shown!.Manifest.License!), first.Facets.License);
    }

    [Fact]
    public async Task pages_are_stable_and_together_give_the_whole_result_once()
    {
        var whole = await Search("?q=http&limit=100");
        Assert.True(whole.Total > 60);
        var pages = new List<string>();
        for (var offset = 0; offset < Math.Min(whole.Total, 100); offset += 15)
            pages.AddRange((await Search($"?q=http&limit=15&offset={offset}")).Hits.Select(h => h.Name));
        Assert.Equal(whole.Hits.Select(h => h.Name), pages.Take(100));
        Assert.Equal(pages.Count, pages.Distinct().Count());
        var again = await Search("?q=http&limit=100");
        Assert.Equal(whole.Hits.Select(h => h.Name), again.Hits.Select(h => h.Name));
        var past = await Search($"?q=http&offset={whole.Total}");
        Assert.Empty(past.Hits);
        Assert.Equal(whole.Total, past.Total);
    }

    [Fact]
    public async Task hits_carry_highlights_of_the_matched_text_and_a_score()
    {
        var result = await Search("?q=serialization");
        var serde = Assert.Single(result.Hits, h => h.Name == "serde-json");
        var description = Assert.Single(serde.Highlights, h => h.Field == "description");
        Assert.Contains("<mark>serialization</mark>", description.Snippet, StringComparison.Ordinal);
        Assert.Contains(serde.Highlights, h => h is { Field: "keywords", Snippet: "<mark>serialization</mark>" });
        Assert.True(serde.Score > 0);

        var byName = await Search("?q=serde");
        Assert.Contains(byName.Hits.Single(h => h.Name == "serde-json").Highlights, h => h is { Field: "name", Snippet: "<mark>serde</mark>-json" });
        Assert.Equal(byName.Hits.Select(h => h.Score).OrderDescending(), byName.Hits.Select(h => h.Score));
    }

    [Fact]
    public async Task packages_with_every_version_yanked_never_show_and_a_yanked_latest_shows_the_newest_remaining()
    {
        var allYanked = fixture.Corpus.Where(p => p.Versions.All(v => v.Yanked)).ToList();
        Assert.NotEmpty(allYanked);
        foreach (var p in allYanked.Take(5))
            Assert.DoesNotContain((await Search($"?q={p.Name}&limit=100")).Hits, h => h.Name == p.Name);

        var latestYanked = fixture.Corpus.Where(p => p.Versions.Count > 1 && p.Versions[^1].Yanked && !p.Versions[^2].Yanked).ToList();
        Assert.NotEmpty(latestYanked);
        foreach (var p in latestYanked.Take(5))
        {
            var hit = (await Search($"?q={p.Name}&limit=100")).Hits.Single(h => h.Name == p.Name);
            Assert.Equal(p.Versions[^2].Version, hit.Version);
        }
    }

    public static TheoryData<string> Hostile() =>
    [
        "'; drop table mkt_search; --", "a:* | b", "!(json)", "json & !yaml", "((", "\\", "%", "_", "%_%", "\"", "'",
        "日本語", "ñandú-json", "Ünïcödé", "🦀 rust", "json\u00a0parser", "serde--json", "-", "::", "<script>", "$1", "?", "a?b",
        new string('x', 256), string.Join(' ', Enumerable.Repeat("json", 40)),
    ];

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task unicode_and_sql_metacharacters_are_only_text(string q)
    {
        var before = await RowCount();
        var filtered = await Search($"?q={Q(q)}&category={Q(q.Length > 0 ? q : "x")}");
        Assert.Equal(0, filtered.Total); // no category is spelt like that
        // Only the query's letters and digits count: the metacharacters carry no syntax, so the answer is that of
        // its words alone (or the whole listing when it has none).
        var plain = await Search($"?q={Q(q)}&limit=50");
        var words = await Search($"?q={Q(string.Join(' ', SearchQuery.WordsOf(q)))}&limit=50");
        Assert.Equal(words.Total, plain.Total);
        Assert.Equal(words.Hits.Select(h => h.Name), plain.Hits.Select(h => h.Name));
        Assert.Equal(before, await RowCount());
    }

    [Theory]
    [InlineData("?limit=0")]
    [InlineData("?limit=101")]
    [InlineData("?limit=ten")]
    [InlineData("?offset=-1")]
    [InlineData("?offset=10001")]
    [InlineData("?sort=popular")]
    [InlineData("?minDownloads=-5")]
    [InlineData("?minDownloads=1e3")]
    [InlineData("?category=")]
    [InlineData("?q=%01json")]
    public async Task bad_parameters_are_invalid_query(string query)
    {
        var (status, code, _) = await host.Send(s => s.Get.Url("/v1/search" + query));
        Assert.Equal(400, status);
        Assert.Equal("invalid-query", code);
    }

    [Fact]
    public async Task a_query_longer_than_the_bound_is_refused()
    {
        var (status, code, _) = await host.Send(s => s.Get.Url("/v1/search?q=" + new string('a', SearchQuery.MaxTextLength + 1)));
        Assert.Equal((400, "invalid-query"), (status, code));
    }

    private async Task<long> RowCount()
    {
        await using var session = fixture.Store.QuerySession();
        return (await session.QueryAsync<long>($"select count(*) from {SearchProjection.TableIn(fixture.Schema)}")).Single();
    }
}
