using Marketplace.Functions.Search.Typesense;
using Marketplace.Search;
using Microsoft.Extensions.Options;

namespace Marketplace.Tests.Search.Typesense;

/// <summary>
/// <see cref="SearchQuery"/> → the exact request Typesense documents, and its documented answer → <see cref="SearchResult"/>.
/// </summary>
public sealed class TypesenseSearchTests : IAsyncLifetime
{
    private FakeTypesense _typesense = null!;
    private TypesenseSearch _search = null!;

    public async Task InitializeAsync()
    {
        _typesense = await FakeTypesense.StartAsync();
        var client = TypesenseClientTests.Client(_typesense.Url);
        await client.CreateCollectionAsync(TypesenseSchema.For("packages_1"), default);
        await client.UpsertAliasAsync("packages", "packages_1", default);
        _search = new TypesenseSearch(client, Options.Create(new TypesenseOptions { Url = _typesense.Url, ApiKey = FakeTypesense.Key }));
    }

    public async Task DisposeAsync() => await _typesense.DisposeAsync();

    private static SearchQuery Query(string text = "", string? category = null, string? keyword = null, string? author = null, string? license = null,
        long minDownloads = 0, SearchSort sort = SearchSort.Relevance, int limit = 20, int offset = 0) =>
        new(text, category, keyword, author, license, minDownloads, sort, limit, offset);

    private async Task<TypesenseRequest> Sent(SearchQuery query)
    {
        await _search.SearchAsync(query, default);
        return _typesense.Requests.Last(r => r.Path.EndsWith("/documents/search", StringComparison.Ordinal));
    }

    [Fact]
    public async Task a_text_query_with_every_filter_becomes_the_documented_search_parameters()
    {
        var sent = await Sent(Query("Serde JSON", category: "web", keyword: "json", author: "Ada <ada@example.com>",
            license: "(Apache-2.0 OR MIT)", minDownloads: 10));

        Assert.Equal(("GET", "/collections/packages/documents/search", FakeTypesense.Key), (sent.Method, sent.Path, sent.ApiKey));
        Assert.Equal(new Dictionary<string, string>
        {
            ["q"] = "serde json",
            ["query_by"] = "name,keywords,description,authors",
            ["query_by_weights"] = "8,4,2,1",
            ["prefix"] = "true,true,false,false",
            ["num_typos"] = "2",
            ["min_len_1typo"] = "3",
            ["min_len_2typo"] = "7",
            ["sort_by"] = "_eval(id:=serde-json):desc,_text_match(buckets: 10):desc,downloads:desc",
            ["facet_by"] = "categories,keywords,authors,license",
            ["max_facet_values"] = "20",
            ["offset"] = "0",
            ["limit"] = "20",
            ["include_fields"] = "name,version,description,keywords,categories,downloads",
            ["highlight_start_tag"] = "<mark>",
            ["highlight_end_tag"] = "</mark>",
            ["enable_highlight_v1"] = "false",
            ["filter_by"] = "categories:=`web` && keywords:=`json` && authors:=`Ada <ada@example.com>` && license:=`(Apache-2.0 OR MIT)` && downloads:>=10",
        }, sent.Query);
    }

    [Theory]
    [InlineData("a,b && x:=y || (c) [d]", "authors:=`a,b && x:=y || (c) [d]`")]
    [InlineData("name:=x && downloads:>0", "authors:=`name:=x && downloads:>0`")]
    [InlineData("C:\\dir\\", "authors:=`C:\\dir\\ `")]
    public async Task filter_syntax_in_a_value_stays_inside_one_quoted_literal(string author, string filter)
    {
        var sent = await Sent(Query(author: author));
        Assert.Equal(filter, sent.Query["filter_by"]);
    }

    [Theory]
    [InlineData("a`,b && x:=y")]
    [InlineData("`")]
    [InlineData("x` || downloads:>=0 || authors:`y")]
    public async Task a_value_with_a_backtick_never_reaches_typesense_and_finds_nothing(string hostile)
    {
        var result = await _search.SearchAsync(Query("serde", author: hostile), default);

        Assert.Equal(0, result.Total);
        Assert.Empty(result.Hits);
        Assert.DoesNotContain(_typesense.Requests, r => r.Path.EndsWith("/documents/search", StringComparison.Ordinal));
        Assert.Null(TypesenseQuery.Parameters(Query(keyword: hostile)));
        Assert.Null(TypesenseQuery.Parameters(Query(license: hostile)));
    }

    [Theory]
    [InlineData("", SearchSort.Relevance, "*", "downloads:desc")]
    [InlineData("", SearchSort.Downloads, "*", "downloads:desc")]
    [InlineData("", SearchSort.Recent, "*", "updated_at:desc")]
    [InlineData("tokio", SearchSort.Downloads, "tokio", "downloads:desc")]
    [InlineData("tokio", SearchSort.Recent, "tokio", "updated_at:desc")]
    [InlineData("tokio", SearchSort.Relevance, "tokio", "_eval(id:=tokio):desc,_text_match(buckets: 10):desc,downloads:desc")]
    [InlineData("\"http\" -client*", SearchSort.Relevance, "http client", "_eval(id:=http-client):desc,_text_match(buckets: 10):desc,downloads:desc")]
    [InlineData("2d graphics", SearchSort.Relevance, "2d graphics", "_text_match(buckets: 10):desc,downloads:desc")]
    [InlineData("café", SearchSort.Relevance, "café", "_text_match(buckets: 10):desc,downloads:desc")]
    public async Task words_and_sort_order_are_translated(string text, SearchSort sort, string q, string sortBy)
    {
        var sent = await Sent(Query(text, sort: sort));
        Assert.Equal((q, sortBy), (sent.Query["q"], sent.Query["sort_by"]));
        Assert.False(sent.Query.ContainsKey("filter_by"));
    }

    [Theory]
    [InlineData(0, 20)]
    [InlineData(15, 10)]
    [InlineData(7, 3)]
    [InlineData(10_000, 100)]
    public async Task paging_is_offset_and_limit_even_when_the_offset_is_not_a_multiple_of_the_limit(int offset, int limit)
    {
        var sent = await Sent(Query("tokio", offset: offset, limit: limit));
        Assert.Equal((offset.ToString(System.Globalization.CultureInfo.InvariantCulture), limit.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            (sent.Query["offset"], sent.Query["limit"]));
        Assert.False(sent.Query.ContainsKey("page"));
    }

    /// <summary>An answer in the shape of typesense.org/docs/30.1/api/search.html, with the nested <c>highlight</c> object.</summary>
    private const string Answer = """
        {
          "facet_counts": [
            {"field_name": "categories", "sampled": false, "counts": [{"value": "encoding", "count": 3, "highlighted": "encoding"}, {"value": "web", "count": 9, "highlighted": "web"}], "stats": {"total_values": 2}},
            {"field_name": "keywords", "sampled": false, "counts": [{"value": "json", "count": 12, "highlighted": "json"}, {"value": "serde", "count": 5, "highlighted": "serde"}], "stats": {"total_values": 2}},
            {"field_name": "authors", "sampled": false, "counts": [{"value": "Ada <ada@example.com>", "count": 4, "highlighted": "Ada <ada@example.com>"}], "stats": {"total_values": 1}},
            {"field_name": "license", "sampled": false, "counts": [{"value": "MIT", "count": 11, "highlighted": "MIT"}, {"value": "Apache-2.0", "count": 11, "highlighted": "Apache-2.0"}], "stats": {"total_values": 2}}
          ],
          "found": 42,
          "out_of": 1200,
          "page": 1,
          "request_params": {"collection_name": "packages_1", "per_page": 20, "q": "serde json"},
          "search_cutoff": false,
          "search_time_ms": 1,
          "hits": [
            {
              "document": {"id": "serde-json", "name": "serde-json", "version": "1.0.2", "description": "A JSON serialization file format", "keywords": ["json", "serde", "serialization"], "categories": ["encoding"], "downloads": 81234},
              "highlight": {
                "name": {"matched_tokens": ["serde", "json"], "snippet": "<mark>serde</mark>-<mark>json</mark>"},
                "keywords": [
                  {"matched_tokens": ["json"], "snippet": "<mark>json</mark>"},
                  {"matched_tokens": [], "snippet": "serde"},
                  {"matched_tokens": [], "snippet": "serialization"}
                ],
                "description": {"matched_tokens": ["JSON"], "snippet": "A <mark>JSON</mark> serialization file format"}
              },
              "text_match": 578730123365187705,
              "text_match_info": {"best_field_score": "2211897868288", "best_field_weight": 15, "fields_matched": 3, "score": "578730123365187705", "tokens_matched": 2}
            },
            {
              "document": {"id": "json-tools", "name": "json-tools", "version": "0.3.0-beta.1", "keywords": [], "categories": [], "downloads": 0},
              "highlight": {},
              "text_match": 1234
            }
          ]
        }
        """;

    [Fact]
    public async Task the_answer_maps_to_total_hits_scores_highlights_and_facets()
    {
        _typesense.SearchAnswer = Answer;

        var result = await _search.SearchAsync(Query("serde json"), default);

        Assert.Equal(42, result.Total);
        Assert.Equal(["serde-json", "json-tools"], result.Hits.Select(h => h.Name));
        var first = result.Hits[0];
        Assert.Equal(("1.0.2", "A JSON serialization file format", 81234L, 578730123365187705d),
            (first.Version, first.Description, first.Downloads, first.Score));
        Assert.Equal(["json", "serde", "serialization"], first.Keywords);
        Assert.Equal(["encoding"], first.Categories);
        Assert.Equal(
            [
                new SearchHighlight("name", "<mark>serde</mark>-<mark>json</mark>"),
                new SearchHighlight("keywords", "<mark>json</mark>"),
                new SearchHighlight("description", "A <mark>JSON</mark> serialization file format"),
            ], first.Highlights);
        Assert.Equal(("0.3.0-beta.1", null, 0L, 1234d), (result.Hits[1].Version, result.Hits[1].Description, result.Hits[1].Downloads, result.Hits[1].Score));
        Assert.Empty(result.Hits[1].Highlights);

        Assert.Equal([new FacetCount("web", 9), new FacetCount("encoding", 3)], result.Facets.Category);
        Assert.Equal([new FacetCount("json", 12), new FacetCount("serde", 5)], result.Facets.Keyword);
        Assert.Equal([new FacetCount("Ada <ada@example.com>", 4)], result.Facets.Author);
        Assert.Equal([new FacetCount("Apache-2.0", 11), new FacetCount("MIT", 11)], result.Facets.License);
    }

    [Fact]
    public void the_deprecated_highlights_array_is_read_when_the_object_is_absent()
    {
        var hit = System.Text.Json.JsonSerializer.Deserialize<TypesenseHit>("""
            {"document": {"id": "x"},
             "highlights": [
               {"field": "keywords", "indices": [0, 2], "matched_tokens": [["json"], ["json"]], "snippets": ["<mark>json</mark>", "<mark>json</mark>5"]},
               {"field": "name", "matched_tokens": ["json"], "snippet": "<mark>json</mark>-tools"}],
             "text_match": 12}
            """, TypesenseClient.Json)!;

        Assert.Equal(
            [
                new SearchHighlight("name", "<mark>json</mark>-tools"),
                new SearchHighlight("keywords", "<mark>json</mark>"),
                new SearchHighlight("keywords", "<mark>json</mark>5"),
            ], TypesenseQuery.Highlights(hit));
    }

    [Fact]
    public async Task a_refused_search_is_a_typesense_exception_with_status_and_message()
    {
        _typesense.SearchFailure = (400, "Could not parse the filter query.");

        var error = await Assert.ThrowsAsync<TypesenseException>(() => _search.SearchAsync(Query("serde"), default));

        Assert.Equal((400, "Could not parse the filter query."), (error.StatusCode, error.TypesenseMessage));
    }

    [Fact]
    public void a_snippet_is_escaped_text_whose_only_tags_are_mark()
    {
        // Typesense marks the matched tokens in the text as indexed: a publisher's markup would reach the page.
        var hit = System.Text.Json.JsonSerializer.Deserialize<TypesenseHit>("""
            {"document": {"id": "x"},
             "highlight": {"description": {"matched_tokens": ["widget"], "snippet": "<script>alert('x')</script> & <b><mark>widget</mark></b> &lt;mark&gt;"}},
             "text_match": 12}
            """, TypesenseClient.Json)!;

        Assert.Equal([new SearchHighlight("description", "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;<mark>widget</mark>&lt;/b&gt; &amp;lt;mark&amp;gt;")],
            TypesenseQuery.Highlights(hit));
    }

    [Fact]
    public async Task suggest_asks_for_name_prefixes_by_downloads_and_keeps_the_names_that_start_with_the_prefix()
    {
        _typesense.SearchAnswer = """
            {"found": 4, "out_of": 9, "page": 1, "search_time_ms": 0, "facet_counts": [],
             "hits": [
               {"document": {"id": "serde-json", "name": "serde-json", "version": "1.0.0", "description": "JSON", "downloads": 50}, "highlight": {}, "text_match": 9},
               {"document": {"id": "json-serde", "name": "json-serde", "version": "2.0.0", "downloads": 90}, "highlight": {}, "text_match": 9},
               {"document": {"id": "serde", "name": "serde", "version": "3.0.0", "description": "Serde", "downloads": 10}, "highlight": {}, "text_match": 8},
               {"document": {"id": "serde-yaml", "name": "serde-yaml", "version": "0.1.0", "downloads": 70}, "highlight": {}, "text_match": 7}]}
            """;

        var result = await _search.SuggestAsync(SuggestQuery.Create("Serde").Value!, default);

        var sent = Assert.Single(_typesense.Requests, r => r.Path.EndsWith("/documents/search", StringComparison.Ordinal));
        Assert.Equal(("serde", "name", "true", "0", "_text_match:desc,downloads:desc", "32"),
            (sent.Query["q"], sent.Query["query_by"], sent.Query["prefix"], sent.Query["num_typos"], sent.Query["sort_by"], sent.Query["per_page"]));
        // json-serde matched a later word only: not a name that starts with the prefix.
        Assert.Equal(
            [new Suggestion("serde", "3.0.0", "Serde"), new Suggestion("serde-yaml", "0.1.0", null), new Suggestion("serde-json", "1.0.0", "JSON")],
            result.Suggestions);
    }

    [Fact]
    public void the_port_names_the_feed_progression()
    {
        Assert.Equal("TypesenseFeed:All", _search.ProgressionName);
    }
}
