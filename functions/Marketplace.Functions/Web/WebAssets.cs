using System.Security.Cryptography;

namespace Marketplace.Functions.Web;

/// <summary>
/// The pages' own stylesheet, script and icon, embedded in the assembly and served at
/// <c>/assets/{name}.{hash}.{ext}</c>: the hash is of the content, so each URL is cached for a year and a new build
/// gets new URLs. Nothing is loaded from another origin.
/// </summary>
public sealed class WebAssets
{
    public sealed record Asset(string Url, byte[] Body, string ContentType);

    private readonly Dictionary<string, Asset> _byUrl = new(StringComparer.Ordinal);

    public WebAssets()
    {
        Css = Load("site.css", "text/css; charset=utf-8");
        Script = Load("site.js", "text/javascript; charset=utf-8");
        Icon = Load("icon.svg", "image/svg+xml");
    }

    public Asset Css { get; }
    public Asset Script { get; }
    public Asset Icon { get; }

    public Asset? Find(string path) => _byUrl.GetValueOrDefault(path);

    private Asset Load(string file, string contentType)
    {
        using var stream = typeof(WebAssets).Assembly.GetManifestResourceStream("web/" + file)
            ?? throw new InvalidOperationException($"The web asset {file} is not embedded in the assembly.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        var body = copy.ToArray();
        var hash = Convert.ToHexStringLower(SHA256.HashData(body).AsSpan(0, 8));
        var dot = file.LastIndexOf('.');
        var asset = new Asset($"/assets/{file[..dot]}.{hash}{file[dot..]}", body, contentType);
        _byUrl[asset.Url] = asset;
        return asset;
    }
}
