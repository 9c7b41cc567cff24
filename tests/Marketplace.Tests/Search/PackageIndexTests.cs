using Marketplace.Functions.Search.Embedded;
using Marketplace.Search;
using Marketplace.Testing;

namespace Marketplace.Tests.Search;

/// <summary>
/// The embedded index on its own (no database): what a change of text or visibility leaves behind, facet counts and
/// totals against a direct count over a generated corpus, typo distances, and readers searching while the writer
/// applies changes.
/// </summary>
public sealed class PackageIndexTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 4, 0, 0, 0, TimeSpan.Zero);

    private static IndexedPackage Row(string name, string description, bool visible = true, long downloads = 0,
        string[]? keywords = null, string category = "parsing") =>
        new(name, "1.0.0", description, keywords ?? ["misc"], [category], ["ada lovelace"], "MIT", At, visible, downloads);

    private static SearchResult Search(PackageIndex index, string? q = null, string? category = null, string? sort = null, string? minDownloads = null) =>
        index.Search(SearchQuery.Create(q, category, null, null, null, minDownloads, sort, null, null).Value!);

    private static string[] Names(SearchResult result) => [.. result.Hits.Select(h => h.Name)];

    [Fact]
    public void a_word_taken_out_of_a_description_no_longer_finds_the_package()
    {
        var index = new PackageIndex();
        index.Apply([Row("widget", "Frobnicates alphabets")]);
        Assert.Equal(["widget"], Names(Search(index, "alphab")));

        index.Apply([Row("widget", "Frobnicates betas") with { Version = "1.1.0" }]);

        Assert.Empty(Names(Search(index, "alphabets")));
        Assert.Equal(["widget"], Names(Search(index, "betas")));
        Assert.Equal(["widget"], Names(Search(index, "frob")));
        Assert.Equal(1, index.VisibleCount);
    }

    [Fact]
    public void a_package_that_becomes_invisible_leaves_words_names_facets_and_filters_and_comes_back_whole()
    {
        var index = new PackageIndex();
        index.Apply([Row("gizmo-core", "Gizmo engine", category: "graphics"), Row("gadget", "Gadget engine", category: "graphics")]);
        Assert.Equal(2, Search(index, category: "graphics").Total);

        index.Apply([Row("gizmo-core", "Gizmo engine", visible: false, category: "graphics")]);

        Assert.Equal(["gadget"], Names(Search(index, "engine")));
        Assert.Empty(Names(Search(index, "gizmo")));
        Assert.Empty(index.Suggest(SuggestQuery.Create("giz").Value!).Suggestions);
        Assert.Equal(["gadget"], Names(Search(index, category: "graphics")));
        Assert.Equal(1, Search(index).Facets.Category.Single(c => c.Value == "graphics").Count);
        Assert.Equal(1, index.VisibleCount);

        index.Apply([Row("gizmo-core", "Gizmo engine", category: "graphics")]);

        Assert.Equal(["gizmo-core"], Names(Search(index, "gizmo")));
        Assert.Equal(["gizmo-core"], index.Suggest(SuggestQuery.Create("giz").Value!).Suggestions.Select(s => s.Name));
        Assert.Equal(2, Search(index).Facets.Category.Single(c => c.Value == "graphics").Count);
    }

    [Fact]
    public void totals_and_facet_counts_equal_a_direct_count_over_a_corpus()
    {
        // Over 8,192 packages: the unfiltered sorts then skip on a sampled floor, which this checks too.
        var corpus = SearchCorpus.Generate(9_000, seed: 5);
        var index = new PackageIndex();
        var rows = CorpusRows.Of(corpus, At);
        index.Apply(rows);
        var visible = rows.Where(r => r.Visible).ToList();

        static bool Prefixes(IndexedPackage p, string word) =>
            new[] { p.Name, string.Join(' ', p.Keywords), p.Description ?? "", string.Join(' ', p.Authors) }
                .SelectMany(text => SearchQuery.WordsOf(text, int.MaxValue)).Any(w => w.StartsWith(word, StringComparison.Ordinal));

        foreach (var q in new[] { "json", "client", "pars", "async", "serde json", "lovelace", "zip" })
        {
            var words = SearchQuery.WordsOf(q);
            var expected = visible.Where(p => words.All(w => Prefixes(p, w))).ToList();
            var result = Search(index, q);
            // Below a page of matches a typo pass adds more: the direct count is then only a floor.
            if (expected.Count < PackageIndex.TypoThreshold)
            {
                Assert.InRange(result.Total, expected.Count, long.MaxValue);
                continue;
            }
            Assert.Equal(expected.Count, result.Total);
            Assert.Equal(
                expected.SelectMany(p => p.Categories.Distinct()).CountBy(c => c).OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal)
                    .Take(SearchQuery.FacetValues).Select(c => (c.Key, c.Value)),
                result.Facets.Category.Select(c => (c.Value, (int)c.Count)));
        }
        foreach (var category in SearchCorpus.Categories)
        {
            var expected = visible.Count(p => p.Categories.Contains(category));
            Assert.Equal(expected, Search(index, category: category).Total);
        }
        Assert.Equal(visible.Count(p => p.Downloads >= 10), Search(index, minDownloads: "10").Total);
        var everything = Search(index, sort: "downloads");
        Assert.Equal(visible.Count, everything.Total);
        Assert.Equal(visible.OrderByDescending(p => p.Downloads).ThenBy(p => p.Name, StringComparer.Ordinal).Take(20).Select(p => p.Name), Names(everything));
        Assert.Equal(visible.OrderByDescending(p => p.UpdatedAt).Take(20).Select(p => p.Name), Names(Search(index, sort: "recent")));
        Assert.Equal(visible.OrderByDescending(p => p.UpdatedAt).Skip(100).Take(20).Select(p => p.Name),
            Names(index.Search(SearchQuery.Create(null, null, null, null, null, null, "recent", null, "100").Value!)));
        Assert.Equal(
            visible.SelectMany(p => p.Licenses()).CountBy(l => l).OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Select(c => (c.Key, c.Value)),
            everything.Facets.License.Select(c => (c.Value, (int)c.Count)));
    }

    [Theory]
    [InlineData("json", "jsno", 1, true)]     // neighbours swapped: one edit
    [InlineData("json", "jon", 1, true)]
    [InlineData("serde", "sedre", 1, true)]
    [InlineData("serde", "sxdxe", 1, false)]
    [InlineData("markdown", "mrakdonw", 2, true)]
    [InlineData("markdown", "mrakdnw", 2, false)]
    [InlineData("websocket", "websocket", 0, true)]
    [InlineData("abc", "abcdef", 2, false)]
    public void typo_distance_counts_insertions_deletions_substitutions_and_swaps(string a, string b, int edits, bool within) =>
        Assert.Equal(within, EditDistance.AtMost(a, b, edits));

    [Fact]
    public void a_batch_that_adds_a_word_then_takes_it_back_then_gives_it_to_another_package_ends_as_the_last_row_says()
    {
        var index = new PackageIndex();
        index.Apply([Row("kept", "alpha words here")]);
        // One batch: "first" gains alpha, loses it to its next version, and "second" gains it; "kept" is untouched.
        index.Apply([Row("first", "alpha beta"), Row("first", "beta gamma"), Row("second", "alpha delta")]);

        Assert.Equal(["kept", "second"], Names(Search(index, "alpha")).Order());
        Assert.Equal(["first"], Names(Search(index, "gamma")));
        Assert.Equal(["first"], Names(Search(index, "beta")));

        // The next batch appends to the postings the first one left (spare room past their published count).
        index.Apply([Row("third", "alpha")]);
        Assert.Equal(["kept", "second", "third"], Names(Search(index, "alpha")).Order());
    }

    [Fact]
    public void the_bounded_distance_agrees_with_the_full_one_and_the_letter_set_test_never_rejects_words_within_the_edits()
    {
        // Letters 64 apart share a bit ('a' and '!'): collisions may only weaken the test, never reject a true match.
        const string alphabet = "abcdeAB!\"#-";
        var random = new Random(7);
        string Word(int length) => new([.. Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)])]);
        string Edit(string w)
        {
            var i = random.Next(w.Length + 1);
            return random.Next(4) switch
            {
                0 => w.Insert(i, alphabet[random.Next(alphabet.Length)].ToString()),
                1 when i < w.Length => w.Remove(i, 1),
                2 when i < w.Length => w[..i] + alphabet[random.Next(alphabet.Length)] + w[(i + 1)..],
                3 when i + 1 < w.Length => w[..i] + w[i + 1] + w[i] + w[(i + 2)..],
                _ => w,
            };
        }
        var within = 0;
        for (var n = 0; n < 20_000; n++)
        {
            var a = Word(random.Next(1, 12));
            var b = a;
            for (var e = random.Next(4); e > 0; e--) b = Edit(b);
            var edits = random.Next(3);
            var expected = EditDistance.Full(a, b) <= edits;
            if (expected) within++;
            Assert.True(expected == EditDistance.AtMost(a, b, edits), $"'{a}' and '{b}' within {edits} edits: expected {expected}");
            // The typo walk tests letter sets before the distance: they must let every pair within the edits through.
            if (expected)
                Assert.True(EditDistance.LettersWithin(EditDistance.LettersOf(a), EditDistance.LettersOf(b), edits),
                    $"the letter sets of '{a}' and '{b}' rejected a pair {edits} edits apart");
        }
        Assert.InRange(within, 5_000, 15_000); // both answers well represented
    }

    [Fact]
    public void a_name_with_a_typo_is_found_and_a_short_word_has_no_typos()
    {
        var index = new PackageIndex();
        index.Apply([Row("serde-json", "A JSON serialization file format", keywords: ["json", "serde"]), Row("toml", "Config files")]);

        Assert.Equal(["serde-json"], Names(Search(index, "serde-jsn")));
        Assert.Equal(["serde-json"], Names(Search(index, "jsno")));
        Assert.Empty(Names(Search(index, "tmo"))); // three letters: no typo allowed
    }

    [Fact]
    public async Task readers_searching_while_the_writer_applies_see_only_whole_packages()
    {
        var index = new PackageIndex();
        index.Apply(Enumerable.Range(0, 2_000).Select(i => Row($"pkg-{i}", $"Package number {i} of the stress run", downloads: i)));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var writer = Task.Run(() =>
        {
            var round = 0;
            do
            {
                round++;
                index.Apply(Enumerable.Range(0, 200).Select(i => Row($"pkg-{(i * 7 + round) % 2_400}",
                    round % 2 == 0 ? $"Package number {i} rewritten" : "Package moved elsewhere", visible: (i + round) % 5 != 0, downloads: round)));
            }
            while (!stop.IsCancellationRequested);
            return round;
        });
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            var searches = 0;
            // At least one round, however late the thread pool starts this reader.
            do
            {
                foreach (var q in new[] { "package", "pkg", "rewritten", "number 1", "pakcage" })
                {
                    var result = Search(index, q);
                    Assert.True(result.Total >= result.Hits.Count);
                    Assert.All(result.Hits, h => Assert.StartsWith("pkg-", h.Name, StringComparison.Ordinal));
                    searches++;
                }
                Assert.All(index.Suggest(SuggestQuery.Create("pkg-1").Value!).Suggestions, s => Assert.StartsWith("pkg-1", s.Name, StringComparison.Ordinal));
            }
            while (!stop.IsCancellationRequested);
            return searches;
        })).ToArray();

        Assert.True(await writer >= 1);
        Assert.All(await Task.WhenAll(readers), searches => Assert.True(searches > 1));
        Assert.InRange(index.Count, 2_000, 2_400);
    }
}

file static class IndexedPackageLicenses
{
    public static IEnumerable<string> Licenses(this IndexedPackage p) => p.License is { } l ? [l] : [];
}
