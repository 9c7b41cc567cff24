using Marketplace.Projections.Packages;
using Marten;

namespace Marketplace.Functions.Web;

/// <summary><c>/keys/{keyId}</c>: the packages a key owns and the versions it signed.</summary>
public static class KeyPage
{
    private const int MaxListed = 200;

    public static async Task<IResult> Get(string keyId, IDocumentStore store, WebAssets assets, PageCache cache, CancellationToken ct)
    {
        if (keyId.Length > 80 || !keyId.StartsWith("ed25519:", StringComparison.Ordinal))
            return Layout.NotFound(assets, "That is not a key id (ed25519: and 32 hex digits).");
        return await cache.GetOrRender("/keys/" + keyId, async () =>
        {
            await using var session = store.QuerySession();
            var owns = await session.Query<PackageDocument>().Where(p => p.Owners.Any(o => o.KeyId == keyId))
                .OrderBy(p => p.Id).Take(MaxListed).Select(p => new { p.Id, p.DisplayName, p.Latest }).ToListAsync(ct);
            var signed = await session.Query<VersionDocument>().Where(v => v.KeyId == keyId)
                .OrderByDescending(v => v.PublishedAt).Take(MaxListed)
                .Select(v => new { v.Name, v.Version, v.PublishedAt, v.Yanked }).ToListAsync(ct);
            if (owns.Count == 0 && signed.Count == 0)
                return Layout.NotFound(assets, "This key owns no package and signed no version.");
            return Layout.Page(assets, "Key " + keyId, w =>
            {
                w.Add($"""<h1>Key <code class="key">{keyId}</code></h1>""" +
                    $"""<section aria-labelledby="owns-title"><h2 id="owns-title">Owns <span class="count">{owns.Count}</span></h2>""");
                if (owns.Count == 0) w.Add($"<p>No package today.</p>");
                else
                {
                    w.Add($"""<ul class="deps">""");
                    foreach (var p in owns)
                        w.Add($"""<li><a href="/packages/{Html.Segment(p.Id)}">{p.DisplayName}</a> <span class="version">{p.Latest}</span></li>""");
                    w.Add($"</ul>");
                }
                w.Add($"""</section><section aria-labelledby="signed-title">""" +
                    $"""<h2 id="signed-title">Signed <span class="count">{signed.Count}</span></h2>""");
                if (signed.Count == 0) w.Add($"<p>No version.</p>");
                else
                {
                    w.Add($"""<ul class="history">""");
                    foreach (var v in signed)
                        w.Add($"""<li><time datetime="{Html.Iso(v.PublishedAt)}">{Html.Time(v.PublishedAt)}</time> """ +
                            $"""<a href="/packages/{Html.Segment(v.Name)}/{Html.Segment(v.Version)}">{v.Name} {v.Version}</a>""" +
                            $"""{(v.Yanked ? new Raw(" <span class=\"badge\">yanked</span>") : Raw.Empty)}</li>""");
                    w.Add($"</ul>");
                }
                w.Add($"</section>");
            });
        });
    }
}
