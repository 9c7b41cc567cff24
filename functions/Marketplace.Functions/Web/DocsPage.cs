using Microsoft.AspNetCore.OpenApi;

namespace Marketplace.Functions.Web;

/// <summary>
/// <c>/docs</c>: the HTTP API reference, rendered on the server from the same OpenAPI document as
/// <c>/openapi/v1.json</c> (one section per path and method: summary, parameters, answers). The document does not
/// change while the process runs, so the page is rendered once.
/// </summary>
public static class DocsPage
{
    private static HtmlPage? _page;

    public static async Task<IResult> Get([FromKeyedServices("v1")] IOpenApiDocumentProvider provider, WebAssets assets, CancellationToken ct)
    {
        if (_page is { } page) return page;
        var document = await provider.GetOpenApiDocumentAsync(ct);
        page = Layout.Page(assets, "HTTP API", w =>
        {
            w.Add($"""
                <h1>HTTP API <span class="version">{document.Info?.Version}</span></h1>
                <p>Everything the web pages show comes from this API. Errors are <code>application/problem+json</code>
                """);
            // One line of HTML in two calls, so its source lines stay short.
            w.Add($"""
                 with a stable <code>code</code>.
                The machine-readable document is <a href="/openapi/v1.json">/openapi/v1.json</a>.</p>
                <nav aria-label="Endpoints" class="toc"><ul>
                """);
            var operations = (document.Paths ?? [])
                .SelectMany(p => (p.Value.Operations ?? []).Select(o => (Path: p.Key, Method: o.Key.Method.ToUpperInvariant(), Operation: o.Value)))
                .OrderBy(o => o.Path, StringComparer.Ordinal).ThenBy(o => o.Method, StringComparer.Ordinal).ToList();
            foreach (var (path, method, _) in operations)
                w.Add($"""<li><a href="#{Anchor(method, path)}"><span class="method">{method}</span> {path}</a></li>""");
            w.Add($"</ul></nav>");
            foreach (var (path, method, operation) in operations)
            {
                w.Add($"""<section class="operation" id="{Anchor(method, path)}" aria-labelledby="{Anchor(method, path)}-title">""" +
                    $"""<h2 id="{Anchor(method, path)}-title"><span class="method">{method}</span> <code>{path}</code></h2>""" +
                    $"""<p>{operation.Summary}</p>""");
                if (operation.Parameters is { Count: > 0 } parameters)
                {
                    w.Add($"""<div class="table-scroll"><table><thead><tr><th scope="col">Parameter</th><th scope="col">In</th>""" +
                        $"""<th scope="col">Type</th><th scope="col">Required</th></tr></thead><tbody>""");
                    foreach (var p in parameters)
                        w.Add($"<tr><td><code>{p.Name}</code></td><td>{p.In?.ToString().ToLowerInvariant()}</td>" +
                            $"<td>{p.Schema?.Type?.ToString().ToLowerInvariant()}</td><td>{(p.Required ? "yes" : "no")}</td></tr>");
                    w.Add($"</tbody></table></div>");
                }
                if (operation.RequestBody?.Content is { Count: > 0 } body)
                    w.Add($"""<p class="meta">Request body: {string.Join(", ", body.Keys)}</p>""");
                if (operation.Responses is { Count: > 0 } responses)
                {
                    w.Add($"""<ul class="responses">""");
                    foreach (var (status, response) in responses)
                        w.Add($"""<li><code>{status}</code> {response.Description} """ +
                            $"""<span class="meta">{string.Join(", ", response.Content?.Keys ?? [])}</span></li>""");
                    w.Add($"</ul>");
                }
                w.Add($"</section>");
            }
        });
        _page = page;
        return page;
    }

    private static string Anchor(string method, string path) =>
        method.ToLowerInvariant() + "-" + System.Text.RegularExpressions.Regex.Replace(path.ToLowerInvariant(), "[^a-z0-9]+", "-").Trim('-');
}
