using System.Security.Cryptography;
using System.Text;

namespace Marketplace.Functions.Web;

/// <summary>
/// A rendered page: UTF-8 bytes with a strong ETag (a hash of them), the pages' CSP, and 304 for a matching
/// <c>If-None-Match</c>. The CSP allows only this origin's scripts and styles (no inline script or style) and
/// images from https (README pictures).
/// </summary>
public sealed class HtmlPage(byte[] body, string etag, int status = StatusCodes.Status200OK) : IResult
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https:; connect-src 'self'; " +
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    public byte[] Body => body;
    public string ETag => etag;
    public int Status => status;

    public static HtmlPage From(string html, int status = StatusCodes.Status200OK)
    {
        var bytes = Encoding.UTF8.GetBytes(html);
        return new HtmlPage(bytes, $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes).AsSpan(0, 16))}\"", status);
    }

    public Task ExecuteAsync(HttpContext httpContext)
    {
        var http = httpContext;
        var response = http.Response;
        response.StatusCode = status;
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.CacheControl = status == StatusCodes.Status200OK ? "public, max-age=5" : "no-cache";
        response.Headers.Vary = "Accept-Encoding";
        if (status == StatusCodes.Status200OK)
        {
            response.Headers.ETag = etag;
            if (http.Request.Headers.IfNoneMatch.SelectMany(v => (v ?? "").Split(',')).Any(t => t.Trim() is var tag && (tag == etag || tag == "*")))
            {
                response.StatusCode = StatusCodes.Status304NotModified;
                return Task.CompletedTask;
            }
        }
        response.ContentType = "text/html; charset=utf-8";
        response.ContentLength = body.Length;
        return HttpMethods.IsHead(http.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body).AsTask();
    }
}
