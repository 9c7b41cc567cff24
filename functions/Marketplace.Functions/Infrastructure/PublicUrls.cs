namespace Marketplace.Functions.Infrastructure;

public static class PublicUrls
{
    /// <summary>The registry's public base URL: <c>Marketplace:PublicBaseUrl</c> when set (behind a gateway or CDN), else the request's own.</summary>
    public static Uri Base(HttpContext http)
    {
        var configured = http.RequestServices.GetRequiredService<IConfiguration>()["Marketplace:PublicBaseUrl"];
        return configured is { Length: > 0 } ? new Uri(configured) : new Uri($"{http.Request.Scheme}://{http.Request.Host}");
    }
}
