using System.Text.Json;
using Marketplace.Functions.Packages.Reading;
using Marketplace.Functions.Transparency;
using Marketplace.Packages;
using Marketplace.Projections.Dependents;
using Marketplace.Projections.Packages;
using Marketplace.Signing;
using Marten;
using Microsoft.Extensions.Caching.Memory;

namespace Marketplace.Functions.Web;

/// <summary>
/// <c>/packages/{name}</c> (the latest version) and <c>/packages/{name}/{version}</c>: README, metadata, install
/// snippet, versions, dependencies and dependents, owners, downloads chart and the verification panel.
/// </summary>
public static class PackagePages
{
    private sealed record Data(PackageDocument Package, long Downloads, VersionDocument Version, long VersionDownloads,
        IReadOnlyDictionary<string, string?> YankReasons, IReadOnlyList<(string Name, string DisplayName, string Latest)> Dependents,
        IReadOnlyList<DailyDownloads> Daily, Trust Trust, Raw Readme);

    public static Task<IResult> GetPackage(string name, HttpContext http, IDocumentStore store, ReadModels models, DownloadCounts counts,
        TransparencyLog log, Registry.RegistryKey registry, ReadmeRenderer readme, IMemoryCache memory, WebAssets assets, PageCache cache,
        TimeProvider time, CancellationToken ct) =>
        Render(name, null, store, models, counts, log, registry, readme, memory, assets, cache, time, ct);

    public static Task<IResult> GetVersion(string name, string version, HttpContext http, IDocumentStore store, ReadModels models,
        DownloadCounts counts, TransparencyLog log, Registry.RegistryKey registry, ReadmeRenderer readme, IMemoryCache memory, WebAssets assets,
        PageCache cache, TimeProvider time, CancellationToken ct) =>
        Render(name, version, store, models, counts, log, registry, readme, memory, assets, cache, time, ct);

    private static async Task<IResult> Render(string name, string? version, IDocumentStore store, ReadModels models, DownloadCounts counts,
        TransparencyLog log, Registry.RegistryKey registry, ReadmeRenderer readme, IMemoryCache memory, WebAssets assets, PageCache cache,
        TimeProvider time, CancellationToken ct)
    {
        if (!PackageName.Normalize(name).TryGet(out var normalized, out _))
            return Layout.NotFound(assets, "That is not a valid package name.");
        string? versionKey = null;
        if (version is not null)
        {
            if (!SemanticVersion.Parse(version).TryGet(out var semver, out _)) return Layout.NotFound(assets, "That is not a valid version.");
            versionKey = semver.Key;
        }
        var key = $"/packages/{normalized}/{versionKey}";
        return await cache.GetOrRender(key, async () =>
        {
            var data = await LoadAsync(normalized, versionKey, store, models, counts, log, registry, readme, memory, time, ct);
            if (data is null)
                return Layout.NotFound(assets, versionKey is null
                    ? $"There is no package named {normalized} (or it is not visible yet)."
                    : $"{normalized} has no version {versionKey} (or it is not visible yet).");
            return Page(data, versionKey is not null, assets, DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime));
        });
    }

    private static async Task<Data?> LoadAsync(string name, string? versionKey, IDocumentStore store, ReadModels models, DownloadCounts counts,
        TransparencyLog log, Registry.RegistryKey registry, ReadmeRenderer readme, IMemoryCache memory, TimeProvider time, CancellationToken ct)
    {
        if (await models.PackageAsync(store, name, ct) is not var (package, downloads)) return null;
        // The latest version; when every version is yanked, the highest.
        var shownText = versionKey ?? package.Latest ?? package.Versions.LastOrDefault()?.Version;
        if (shownText is null) return null;
        var shown = versionKey ?? SemanticVersion.Parse(shownText).Value!.Key;
        if (await models.VersionAsync(store, name, shown, ct) is not var (doc, versionDownloads, _)) return null;

        // The independent reads run at once, each on its own session: a page waits for the slowest, not the sum.
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var yanked = package.Versions.Any(x => x.Yanked)
            ? Read(store, s => s.Query<VersionDocument>().Where(x => x.Name == name && x.Yanked)
                .Select(x => new YankReason(x.Version, x.YankedReason)).ToListAsync(ct), ct)
            : Task.FromResult<IReadOnlyList<YankReason>>([]);
        var dependentsRead = Read(store, s => DependentsQuery.OfAsync(s, name, ct), ct);
        var dailyRead = Read(store, s => counts.DailyAsync(s, name, today.AddDays(1 - DownloadChart.Days), ct), ct);
        var trust = await Trust.CheckAsync(store, log, registry, doc, ct);
        var yankReasons = (await yanked).ToDictionary(y => y.Version, y => y.Reason, StringComparer.Ordinal);
        var dependents = await dependentsRead;
        var daily = await dailyRead;
        // A version's README never changes: render it once.
        var html = await memory.GetOrCreateAsync("readme:" + doc.Id, e =>
        {
            var rendered = readme.Render(doc.Manifest.Readme);
            e.Size = rendered.Html.Length * 2 + 64;
            e.SlidingExpiration = TimeSpan.FromMinutes(10);
            return Task.FromResult(rendered);
        });
        return new Data(package, downloads, doc, versionDownloads, yankReasons, dependents, daily, trust, html);
    }

    private sealed record YankReason(string Version, string? Reason);

    private static Task<T> Read<T>(IDocumentStore store, Func<IQuerySession, Task<T>> read, CancellationToken ct) => Task.Run(async () =>
    {
        await using var session = store.QuerySession();
        return await read(session);
    }, ct);

    private static HtmlPage Page(Data d, bool versionPage, WebAssets assets, DateOnly today)
    {
        var p = d.Package;
        var v = d.Version;
        var m = v.Manifest;
        var seg = Html.Segment(p.Id);
        var latest = p.Latest;
        var title = versionPage ? $"{p.DisplayName} {v.Version}" : p.DisplayName;
        return Layout.Page(assets, title, w =>
        {
            w.Add($"""
                <div class="package-head">
                <h1>{p.DisplayName} <span class="version">{v.Version}</span></h1>
                """);
            if (v.Yanked)
                w.Add($"""<p class="yanked" role="note"><strong>Yanked</strong>: {v.YankedReason ?? "no reason given"}. """ +
                    $"""It still downloads by exact version but is never resolved.</p>""");
            if (versionPage && latest is not null && latest != v.Version)
                w.Add($"""<p class="note">The latest version is <a href="/packages/{seg}/{Html.Segment(latest)}">{latest}</a>.</p>""");
            w.Add($"""<p class="description">{m.Description ?? "No description."}</p>""");
            w.Add($"""<nav class="tabs" aria-label="Package"><a href="/packages/{seg}">Overview</a> """ +
                $"""<a href="/packages/{seg}/history">History</a> <a href="/v1/packages/{seg}">JSON</a></nav></div>""");
            w.Add($"""<div class="package-layout"><div class="package-main">""");

            // README
            w.Add($"""<section aria-labelledby="readme-title" class="readme"><h2 id="readme-title">README</h2>""");
            if (d.Readme.Html.Length == 0) w.Add($"<p>This version has no README.</p>");
            else w.Add($"""<div class="markdown">{d.Readme}</div>""");
            w.Add($"</section>");

            // Versions
            w.Add($"""<section aria-labelledby="versions-title">""" +
                $"""<h2 id="versions-title">Versions <span class="count">{p.Versions.Count}</span></h2>""" +
                $"""<div class="table-scroll"><table class="versions"><thead><tr>""" +
                $"""<th scope="col">Version</th><th scope="col">Published</th><th scope="col">Signer</th><th scope="col">Size</th>""" +
                $"""</tr></thead><tbody>""");
            foreach (var e in Enumerable.Reverse(p.Versions))
            {
                var key = SemanticVersion.Parse(e.Version).Value!.Key;
                w.Add($"""<tr{(e.Yanked ? new Raw(" class=\"is-yanked\"") : Raw.Empty)}>""" +
                    $"""<td><a href="/packages/{seg}/{Html.Segment(key)}">{e.Version}</a>""");
                if (e.Yanked)
                {
                    var reason = d.YankReasons.TryGetValue(e.Version, out var r) ? r : null;
                    w.Add($"""<span class="badge">yanked</span><span class="reason">{reason ?? "no reason given"}</span>""");
                }
                w.Add($"""</td><td><time datetime="{Html.Iso(e.PublishedAt)}">{Html.Date(e.PublishedAt)}</time></td>""" +
                    $"""<td><a class="key" href="/keys/{Html.Segment(e.KeyId)}">{Abbreviated(e.KeyId)}</a></td>""" +
                    $"""<td>{Html.Bytes(e.Size)}</td></tr>""");
            }
            w.Add($"</tbody></table></div></section>");

            // Dependencies and dependents
            var deps = m.Dependencies ?? new Dictionary<string, string>();
            w.Add($"""<section aria-labelledby="deps-title"><h2 id="deps-title">Dependencies <span class="count">{deps.Count}</span></h2>""");
            if (deps.Count == 0) w.Add($"<p>None.</p>");
            else
            {
                w.Add($"""<ul class="deps">""");
                foreach (var (dep, range) in deps.OrderBy(x => x.Key, StringComparer.Ordinal))
                {
                    var depName = PackageName.Normalize(dep).Value;
                    if (depName is null) w.Add($"<li>{dep} <code>{range}</code></li>");
                    else w.Add($"""<li><a href="/packages/{Html.Segment(depName)}">{dep}</a> <code>{range}</code></li>""");
                }
                w.Add($"</ul>");
            }
            w.Add($"</section>");
            w.Add($"""<section aria-labelledby="dependents-title"><h2 id="dependents-title">Dependents """ +
                $"""<span class="count">{d.Dependents.Count}{(d.Dependents.Count >= DependentsQuery.MaxDependents ? "+" : "")}</span></h2>""");
            if (d.Dependents.Count == 0) w.Add($"<p>No package's latest version depends on {p.DisplayName} yet.</p>");
            else
            {
                w.Add($"""<ul class="deps dependents">""");
                foreach (var dep in d.Dependents)
                    w.Add($"""<li><a href="/packages/{Html.Segment(dep.Name)}">{dep.DisplayName}</a> """ +
                        $"""<span class="version">{dep.Latest}</span></li>""");
                w.Add($"</ul>");
            }
            w.Add($"</section>");

            if (versionPage)
            {
                var envelope = v.Envelope is null ? "" : JsonSerializer.Serialize(v.Envelope, EnvelopeJson);
                w.Add($"""
                    <section aria-labelledby="files-title"><h2 id="files-title">Artifact</h2>
                    <dl class="facts"><div><dt>SHA-256</dt><dd><code class="hash">{v.Sha256}</code></dd></div>
                    <div><dt>Size</dt><dd>{Html.Bytes(v.Size)} ({Html.Count(v.Size)} bytes)</dd></div>
                    <div><dt>Published</dt><dd><time datetime="{Html.Iso(v.PublishedAt)}">{Html.Time(v.PublishedAt)}</time></dd></div>
                    <div><dt>Downloads</dt><dd>{Html.Count(d.VersionDownloads)}</dd></div></dl>
                    <p><a class="button" href="/v1/packages/{seg}/{Html.Segment(v.Version)}/download" rel="nofollow">Download {v.Version}</a></p>
                    <details><summary>Signed DSSE envelope</summary><pre class="envelope"><code>{envelope}</code></pre></details>
                    </section>
                    """);
            }
            w.Add($"""</div><aside class="package-side" aria-label="About this package">""");

            // Install
            var install = $"mkt install {p.Id}@^{latest ?? v.Version}";
            w.Add($"""<section aria-labelledby="install-title"><h2 id="install-title">Install</h2>""" +
                $"""<div class="install"><code id="install-command">{install}</code>""" +
                $"""<button type="button" class="copy" data-copy="install-command" hidden>Copy</button></div></section>""");

            // Trust
            Trust.Panel(w, d.Trust, v);

            // Metadata
            w.Add($"""<section aria-labelledby="meta-title"><h2 id="meta-title">Metadata</h2><dl class="facts">""");
            if (m.License is { } license)
                w.Add($"""<div><dt>License</dt><dd><a href="/search?license={Uri.EscapeDataString(license)}">{license}</a></dd></div>""");
            if (Html.IsSafeLink(m.Repository))
                w.Add($"""<div><dt>Repository</dt><dd><a href="{m.Repository}" rel="nofollow noopener">{m.Repository}</a></dd></div>""");
            if (Html.IsSafeLink(m.Homepage))
                w.Add($"""<div><dt>Homepage</dt><dd><a href="{m.Homepage}" rel="nofollow noopener">{m.Homepage}</a></dd></div>""");
            if (m.Authors is { Count: > 0 } authors)
            {
                w.Add($"<div><dt>Authors</dt><dd><ul>");
                foreach (var a in authors) w.Add($"""<li><a href="/search?author={Uri.EscapeDataString(a)}">{a}</a></li>""");
                w.Add($"</ul></dd></div>");
            }
            if (m.Keywords is { Count: > 0 } keywords)
            {
                w.Add($"""<div><dt>Keywords</dt><dd class="tags">""");
                foreach (var k in keywords) w.Add($"""<a href="/search?keyword={Uri.EscapeDataString(k)}">#{k}</a> """);
                w.Add($"</dd></div>");
            }
            if (m.Categories is { Count: > 0 } categories)
            {
                w.Add($"""<div><dt>Categories</dt><dd class="tags">""");
                foreach (var c in categories) w.Add($"""<a href="/search?category={Uri.EscapeDataString(c)}">{c}</a> """);
                w.Add($"</dd></div>");
            }
            w.Add($"""<div><dt>Downloads</dt><dd>{Html.Count(d.Downloads)} in all</dd></div></dl></section>""");

            // Downloads chart
            w.Add($"""<section aria-labelledby="chart-heading"><h2 id="chart-heading">Downloads, last {DownloadChart.Days} days</h2>""" +
                $"""{DownloadChart.Render(d.Daily, today)}</section>""");

            // Owners
            w.Add($"""<section aria-labelledby="owners-title"><h2 id="owners-title">Owners</h2><ul class="owners">""");
            foreach (var o in p.Owners)
                w.Add($"""<li><a class="key" href="/keys/{Html.Segment(o.KeyId)}">{o.KeyId}</a> """ +
                    $"""<span class="meta">since {Html.Date(o.AddedAt)}</span></li>""");
            w.Add($"</ul></section></aside></div>");
        }, description: m.Description);
    }

    // HTML-encoded where written
    private static readonly JsonSerializerOptions EnvelopeJson = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>A key id short enough for a table cell; the full id is the link target and the key page.</summary>
    public static string Abbreviated(string keyId) => keyId.Length > 24 ? keyId[..24] + "…" : keyId;
}
