namespace Marketplace.Functions.Infrastructure;

/// <summary>
/// The registry's public base URL: <c>Marketplace:PublicBaseUrl</c> when set (behind a gateway or CDN), else the
/// request's own. Read once at startup; downloads ask for it on every redirect.
/// </summary>
public sealed class PublicUrls(IConfiguration configuration)
{
    private readonly Uri? _configured = configuration["Marketplace:PublicBaseUrl"] is { Length: > 0 } url ? new Uri(url) : null;

    public Uri Base(HttpContext http) => _configured ?? new Uri($"{http.Request.Scheme}://{http.Request.Host}");
}
