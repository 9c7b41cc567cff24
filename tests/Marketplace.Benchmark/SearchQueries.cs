using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Marketplace.Testing;

namespace Marketplace.Benchmark;

/// <summary>One query of the mixed set: its kind (what the per-kind figures group by) and its path and query string.</summary>
internal sealed record SearchCase(string Kind, string Path);

/// <summary>
/// The fixed mixed query set of the search phase, drawn with a fixed seed from the corpus so that every run sends
/// the same queries: single words, two words, exact names, names with a typo, each filter alone and with text,
/// the empty query sorted by downloads or recency, and pages 2–5. Shuffled, so concurrent workers mix the kinds.
/// </summary>
internal static class SearchQuerySet
{
    public const int Seed = 7;

    /// <summary>The kinds in report order, with their share of the set.</summary>
    public static readonly (string Kind, double Share)[] Kinds =
    [
        ("word", 0.20), ("two-words", 0.15), ("name", 0.075), ("typo", 0.125), ("filter", 0.15), ("filter+text", 0.125),
        ("empty-sort", 0.075), ("page", 0.10),
    ];

    private static readonly long[] MinDownloads = [1, 10, 100, 1_000];

    public static IReadOnlyList<SearchCase> Build(IReadOnlyList<CorpusPackage> corpus, int count)
    {
        var random = new Random(Seed);
        var visible = corpus.Where(p => p.Shown is not null).ToArray();
        // Popular names are what people type; the tail is searched too.
        var popular = visible.OrderByDescending(p => p.Downloads).ThenBy(p => p.Name, StringComparer.Ordinal).Take(2_000).ToArray();
        var authors = visible.SelectMany(p => p.Shown!.Manifest.Authors ?? []).Distinct().Order(StringComparer.Ordinal).ToArray();
        string Word() => SearchCorpus.Words[random.Next(SearchCorpus.Words.Length)];
        string Name()
        {
            var from = random.Next(2) == 0 ? popular : visible;
            return from[random.Next(from.Length)].Name;
        }
        string Filter() => random.Next(5) switch
        {
            0 => "category=" + Escape(SearchCorpus.Categories[random.Next(SearchCorpus.Categories.Length)]),
            1 => "keyword=" + Escape(Word()),
            2 => "license=" + Escape(SearchCorpus.Licenses[random.Next(SearchCorpus.Licenses.Length)]),
            3 => "author=" + Escape(authors[random.Next(authors.Length)]),
            _ => "minDownloads=" + MinDownloads[random.Next(MinDownloads.Length)].ToString(CultureInfo.InvariantCulture),
        };

        var cases = new List<SearchCase>(count);
        foreach (var (kind, share) in Kinds)
        {
            var n = kind == Kinds[^1].Kind ? count - cases.Count : (int)Math.Round(count * share);
            for (var i = 0; i < n; i++)
            {
                var query = kind switch
                {
                    "word" => "q=" + Escape(Word()),
                    "two-words" => "q=" + Escape(Word() + " " + Word()),
                    "name" => "q=" + Escape(Name()),
                    // The issue's own example first, then names with one letter dropped or two swapped.
                    "typo" => "q=" + Escape(i == 0 && visible.Any(p => p.Name == "serde-json") ? "serde-jsn" : Typo(random, Name())),
                    "filter" => Filter(),
                    "filter+text" => "q=" + Escape(Word()) + "&" + Filter(),
                    "empty-sort" => "sort=" + (i % 2 == 0 ? "downloads" : "recent"),
                    "page" => (random.Next(3) switch
                    {
                        0 => "q=" + Escape(Word()),
                        1 => "sort=downloads",
                        _ => Filter(),
                    }) + "&offset=" + (20 * (1 + random.Next(4))).ToString(CultureInfo.InvariantCulture),
                    _ => throw new InvalidOperationException(kind),
                };
                cases.Add(new SearchCase(kind, "/v1/search?" + query));
            }
        }
        return cases.OrderBy(_ => random.Next()).ToArray();
    }

    /// <summary>The name with one letter dropped or two neighbours swapped (never the name itself).</summary>
    private static string Typo(Random random, string name)
    {
        if (name.Length < 4) return name + "x";
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var at = 1 + random.Next(name.Length - 2);
            var typo = random.Next(2) == 0
                ? name.Remove(at, 1)
                : string.Concat(name.AsSpan(0, at), name[at + 1].ToString(), name[at].ToString(), name.AsSpan(at + 2));
            if (typo != name && !typo.Contains("--", StringComparison.Ordinal)) return typo;
        }
        return name.Remove(name.Length - 1);
    }

    private static string Escape(string value) => Uri.EscapeDataString(value);
}

/// <summary>
/// Cycles through the query set (each request takes the next query, whichever worker sends it) and checks every
/// answer: 200 with a body holding <c>total</c>, <c>hits</c> and <c>facets</c>. Records the latency of each query
/// for the per-kind figures of a run (<see cref="StartRun"/>, <see cref="TakeRun"/>).
/// </summary>
internal sealed class SearchWorkload(IReadOnlyList<SearchCase> cases, string phase = "search") : IWorkload
{
    private readonly ConcurrentDictionary<int, int> _current = new();
    private ConcurrentDictionary<int, List<(int Case, int Status, long Ticks)>> _answers = new();
    private long _next = -1;

    public string Phase => phase;
    public int ExpectedStatus => 200;
    public IReadOnlyList<SearchCase> Cases => cases;

    public HttpRequestMessage Create(int worker)
    {
        var i = (int)(Interlocked.Increment(ref _next) % cases.Count);
        _current[worker] = i;
        return new HttpRequestMessage(HttpMethod.Get, new Uri(cases[i].Path, UriKind.Relative));
    }

    public bool Answered(int worker, HttpResponseMessage? response, long latencyTicks)
    {
        var ok = response is { StatusCode: System.Net.HttpStatusCode.OK } && WellFormed(response);
        var status = response is null ? 0 : ok || response.StatusCode != System.Net.HttpStatusCode.OK ? (int)response.StatusCode : LoadRunner.BadBody;
        _answers.GetOrAdd(worker, _ => []).Add((_current[worker], status, latencyTicks));
        return ok;
    }

    public void Completed(int worker, int status)
    {
    }

    /// <summary>Forgets what the warm-up recorded.</summary>
    public void StartRun() => _answers = new();

    /// <summary>The answers of the run since <see cref="StartRun"/>: the case index, the status and the latency of each.</summary>
    public IReadOnlyList<(int Case, int Status, long Ticks)> TakeRun()
    {
        var all = _answers.Values.SelectMany(a => a).ToList();
        _answers = new();
        return all;
    }

    private static bool WellFormed(HttpResponseMessage response)
    {
        try
        {
            // The body was read into memory by the load runner: this parses it, no I/O.
            using var json = JsonDocument.Parse(response.Content.ReadAsStream());
            var root = json.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("total", out var total) && total.ValueKind == JsonValueKind.Number
                && root.TryGetProperty("hits", out var hits) && hits.ValueKind == JsonValueKind.Array
                && root.TryGetProperty("facets", out var facets) && facets.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

/// <summary>
/// <c>GET /v1/search/suggest?q=</c> over prefixes of corpus names as a search box sends them while a name is typed:
/// for a fixed sample of names, each prefix of 1 to 8 characters. Every answer must be 200 with a suggestions array.
/// </summary>
internal sealed class SuggestWorkload : IWorkload
{
    public const int Seed = 11;
    private readonly string[] _prefixes;
    private long _next = -1;

    public SuggestWorkload(IReadOnlyList<CorpusPackage> corpus, string phase)
    {
        Phase = phase;
        var random = new Random(Seed);
        var names = Enumerable.Range(0, 64).Select(_ => corpus[random.Next(corpus.Count)].Name);
        _prefixes = names.SelectMany(n => Enumerable.Range(1, Math.Min(8, n.Length)).Select(l => n[..l])).ToArray();
    }

    public string Phase { get; }
    public int ExpectedStatus => 200;
    public int Count => _prefixes.Length;
    public IReadOnlyList<string> Prefixes => _prefixes;

    public HttpRequestMessage Create(int worker)
    {
        var i = (int)(Interlocked.Increment(ref _next) % _prefixes.Length);
        return new HttpRequestMessage(HttpMethod.Get, new Uri("/v1/search/suggest?q=" + Uri.EscapeDataString(_prefixes[i]), UriKind.Relative));
    }

    public bool Answered(int worker, HttpResponseMessage? response, long latencyTicks)
    {
        if (response is not { StatusCode: System.Net.HttpStatusCode.OK }) return true;
        try
        {
            using var json = JsonDocument.Parse(response.Content.ReadAsStream());
            return json.RootElement.GetProperty("suggestions").ValueKind == JsonValueKind.Array;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return false;
        }
    }

    public void Completed(int worker, int status)
    {
    }
}
