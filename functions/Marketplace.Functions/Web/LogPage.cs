using System.Globalization;
using Marketplace.Functions.Events;
using Marketplace.Functions.Transparency;
using Marten;

namespace Marketplace.Functions.Web;

/// <summary><c>/log?before={sequence}</c>: the latest signed checkpoint and the newest feed entries, 50 a page, paged by sequence.</summary>
public static class LogPage
{
    public const int PageSize = 50;

    public static async Task<IResult> Get(string? before, IDocumentStore store, TransparencyLog log, WebAssets assets, CancellationToken ct)
    {
        long? upTo = null;
        if (before is not null)
        {
            if (before.Length > 19 || !long.TryParse(before, NumberStyles.None, CultureInfo.InvariantCulture, out var b))
                return Layout.Problem(assets, 400, "Bad page", "before is an event sequence (a whole number).");
            upTo = b;
        }
        var (checkpoint, note) = await log.CheckpointAsync(ct);
        await using var session = store.QuerySession();
        var query = session.Events.QueryAllRawEvents();
        var events = await (upTo is { } u ? query.Where(e => e.Sequence < u) : query)
            .OrderByDescending(e => e.Sequence).Take(PageSize).ToListAsync(ct);
        var leaves = await LogLeaves.IndexesAsync(session, store, events.Select(e => e.Sequence).ToArray(), ct);
        return Layout.Page(assets, "Transparency log", w =>
        {
            w.Add($"""
                <h1>Transparency log</h1>
                <p>Every change to the registry is an event; each is a leaf of an append-only Merkle tree whose root the registry signs.
                Anyone can check that a version is in the log (<a href="/v1/log/proof/inclusion?index=0">inclusion proofs</a>)
                """);
            // One line of HTML in two calls, so its source lines stay short.
            w.Add($"""
                 and that the log was only ever appended to (<a href="/v1/log/proof/consistency?from=1">consistency proofs</a>).</p>
                <section aria-labelledby="checkpoint-title"><h2 id="checkpoint-title">Latest checkpoint</h2>
                <dl class="facts"><div><dt>Tree size</dt><dd>{Html.Count(checkpoint.TreeSize)}</dd></div>
                <div><dt>Root hash</dt><dd><code class="hash">{Convert.ToBase64String(checkpoint.RootHash)}</code></dd></div>
                <div><dt>Origin</dt><dd>{checkpoint.Origin}</dd></div></dl>
                <details><summary>Signed note</summary><pre><code>{note}</code></pre></details>
                <p><a href="/v1/log/checkpoint">Checkpoint as JSON</a> · <a href="/v1/events">audit feed</a></p>
                </section>
                <section aria-labelledby="entries-title"><h2 id="entries-title">{(upTo is null ? "Newest entries" : $"Entries before {upTo}")}</h2>
                """);
            if (events.Count == 0) w.Add($"<p>No entries.</p>");
            else
            {
                w.Add($"""<div class="table-scroll"><table class="log"><thead><tr><th scope="col">Sequence</th><th scope="col">Time</th>""" +
                    $"""<th scope="col">Event</th><th scope="col">Subject</th><th scope="col">Log index</th></tr></thead><tbody>""");
                foreach (var e in events)
                {
                    var mapped = RegistryCloudEvents.IsMapped(e.EventType);
                    var cloud = mapped ? RegistryCloudEvents.ToCloudEvent(e) : null;
                    w.Add($"""<tr><td>{e.Sequence}</td><td><time datetime="{Html.Iso(e.Timestamp)}">{Html.Time(e.Timestamp)}</time></td>""" +
                        $"""<td>{cloud?.Type ?? e.EventTypeName}</td><td>""");
                    var source = cloud?.Source?.ToString();
                    if (source is not null && source.StartsWith("/packages/", StringComparison.Ordinal))
                    {
                        // Version events name name@version; owner events name the key, shown beside its package.
                        var package = source["/packages/".Length..];
                        var subject = cloud!.Subject;
                        if (subject is not null && subject.StartsWith(package + "@", StringComparison.Ordinal))
                            w.Add($"""<a href="{source}">{subject}</a>""");
                        else w.Add($"""<a href="{source}">{package}</a> <a class="key" href="/keys/{Html.Segment(subject ?? "")}">{subject}</a>""");
                    }
                    else w.Add($"{cloud?.Subject}");
                    w.Add($"</td><td>");
                    if (leaves.TryGetValue(e.Sequence, out var index)) w.Add($"""<a href="/v1/log/proof/inclusion?index={index}">{index}</a>""");
                    else w.Add($"—");
                    w.Add($"</td></tr>");
                }
                w.Add($"</tbody></table></div>");
                w.Add($"""<nav class="pages" aria-label="Pages">""");
                if (upTo is not null) w.Add($"""<a href="/log">Newest</a> """);
                if (events.Count == PageSize && events[^1].Sequence > 1)
                    w.Add($"""<a rel="next" href="/log?before={events[^1].Sequence}">Older</a>""");
                w.Add($"</nav>");
            }
            w.Add($"</section>");
        });
    }
}
