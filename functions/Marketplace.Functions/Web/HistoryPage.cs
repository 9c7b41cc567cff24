using JasperFx.Events;
using Marketplace.Functions.Transparency;
using Marketplace.Packages;
using Marten;

namespace Marketplace.Functions.Web;

/// <summary><c>/packages/{name}/history</c>: the package's logged history (owners, publishes, yanks), newest first, each with its log index
/// and proof.</summary>
public static class HistoryPage
{
    public static async Task<IResult> Get(string name, IDocumentStore store, WebAssets assets, PageCache cache, CancellationToken ct)
    {
        if (!PackageName.Normalize(name).TryGet(out var normalized, out _)) return Layout.NotFound(assets, "That is not a valid package name.");
        return await cache.GetOrRender($"/packages/{normalized}/history", async () =>
        {
            await using var session = store.QuerySession();
            var events = await session.Events.FetchStreamAsync(normalized, token: ct);
            if (events.Count == 0) return Layout.NotFound(assets, $"There is no package named {normalized}.");
            var leaves = await LogLeaves.IndexesAsync(session, store, events.Select(e => e.Sequence).ToArray(), ct);
            var display = events.Select(e => e.Data).OfType<PackagePublished>().FirstOrDefault()?.DisplayName ?? normalized;
            return Layout.Page(assets, $"{display} history", w =>
            {
                var seg = Html.Segment(normalized);
                w.Add($"""<h1><a href="/packages/{seg}">{display}</a> history</h1>""" +
                    $"""<p>Every change to this package, newest first. Each is an entry of the <a href="/log">transparency log</a>; """ +
                    $"""its proof shows the entry is in the log the checkpoint signs.</p><ol class="history">""");
                foreach (var e in Enumerable.Reverse(events)) Entry(w, e, leaves, seg);
                w.Add($"</ol>");
            });
        });
    }

    private static void Entry(HtmlWriter w, IEvent e, IReadOnlyDictionary<long, long> leaves, string seg)
    {
        w.Add($"""<li><time datetime="{Html.Iso(e.Timestamp)}">{Html.Time(e.Timestamp)}</time> """);
        switch (e.Data)
        {
            case PackagePublished p:
                w.Add($"""<strong>Published</strong> <a href="/packages/{seg}/{Html.Segment(p.VersionKey)}">{p.Version}</a> """ +
                    $"""signed by <a class="key" href="/keys/{Html.Segment(p.KeyId)}">{p.KeyId}</a>""");
                break;
            case VersionYanked y:
                w.Add($"""<strong>Yanked</strong> <a href="/packages/{seg}/{Html.Segment(y.VersionKey)}">{y.VersionKey}</a>: """ +
                    $"""{y.Reason ?? "no reason given"} (by <a class="key" href="/keys/{Html.Segment(y.KeyId)}">{y.KeyId}</a>)""");
                break;
            case VersionUnyanked u:
                w.Add($"""<strong>Unyanked</strong> <a href="/packages/{seg}/{Html.Segment(u.VersionKey)}">{u.VersionKey}</a> """ +
                    $"""(by <a class="key" href="/keys/{Html.Segment(u.KeyId)}">{u.KeyId}</a>)""");
                break;
            case OwnerAdded a:
                w.Add($"""<strong>Owner added</strong> <a class="key" href="/keys/{Html.Segment(a.KeyId)}">{a.KeyId}</a> """ +
                    $"""(by <a class="key" href="/keys/{Html.Segment(a.AddedBy)}">{a.AddedBy}</a>)""");
                break;
            case OwnerRemoved r:
                w.Add($"""<strong>Owner removed</strong> <a class="key" href="/keys/{Html.Segment(r.KeyId)}">{r.KeyId}</a> """ +
                    $"""(by <a class="key" href="/keys/{Html.Segment(r.RemovedBy)}">{r.RemovedBy}</a>)""");
                break;
            default:
                w.Add($"{e.EventTypeName}");
                break;
        }
        LogLeaves.Proof(w, e.Sequence, leaves);
        w.Add($"</li>");
    }
}

/// <summary>Log indexes of events, and the proof link each page shows beside an event.</summary>
public static class LogLeaves
{
    public static async Task<IReadOnlyDictionary<long, long>> IndexesAsync(
        IQuerySession session, IDocumentStore store, long[] sequences, CancellationToken ct)
    {
        var rows = await session.QueryAsync<string>(
            $"select sequence || ' ' || index from {TransparencyLogProjection.LeavesIn(store.Options.DatabaseSchemaName)} where sequence = any(?)",
            ct, sequences);
        return rows.Select(r => r.Split(' ')).ToDictionary(
            p => long.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture),
            p => long.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    public static void Proof(HtmlWriter w, long sequence, IReadOnlyDictionary<long, long> leaves)
    {
        if (leaves.TryGetValue(sequence, out var index))
            w.Add($""" <span class="log">log index <a href="/v1/log/proof/inclusion?index={index}">{index}</a></span>""");
        else
            w.Add($""" <span class="log">not in the log yet</span>""");
    }
}
