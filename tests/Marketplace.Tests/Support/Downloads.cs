using Alba;
using Microsoft.AspNetCore.TestHost;

namespace Marketplace.Tests.Support;

public static class Downloads
{
    private static readonly HttpClient Outside = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false });

    /// <summary>Asks for a download, expects 302, then follows the redirect (to the app itself or to s3rver) and returns the bytes.</summary>
    public static async Task<(Uri Location, byte[] Bytes)> DownloadAsync(this IAlbaHost host, string name, string version)
    {
        var result = await host.Scenario(s =>
        {
            s.Get.Url($"/v1/packages/{name}/{version}/download");
            s.StatusCodeShouldBe(302);
        });
        var location = new Uri(result.Context.Response.Headers.Location.ToString(), UriKind.Absolute);
        return (location, await FollowAsync(host, location));
    }

    public static async Task<byte[]> FollowAsync(IAlbaHost host, Uri location)
    {
        using var response = location.Host == "localhost"
            ? await host.Server.CreateClient().GetAsync(location.PathAndQuery)
            : await Outside.GetAsync(location);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }

    public static async Task<HttpResponseMessage> PutAsync(IAlbaHost host, Uri url, IReadOnlyDictionary<string, string> headers, byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        foreach (var (k, v) in headers)
        {
            if (k.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)) content.Headers.ContentType = new(v);
            else content.Headers.TryAddWithoutValidation(k, v);
        }
        return url.Host == "localhost"
            ? await host.Server.CreateClient().PutAsync(url.PathAndQuery, content)
            : await Outside.PutAsync(url, content);
    }
}
