using System.Net;
using System.Security.Cryptography;
using Marketplace.Client.Http;

namespace Marketplace.Client;

public sealed partial class MarketplaceClient
{
    /// <summary>
    /// <c>GET /v1/packages/{name}/{version}/download</c> without following it: the registry records the download and
    /// answers 302 with a short-lived blob URL, which this returns.
    /// </summary>
    public async Task<Uri> GetDownloadUrlAsync(string name, string version, CancellationToken cancellationToken = default)
    {
        using var timeout = Bound(cancellationToken);
        using var request = Request(HttpMethod.Get, $"v1/packages/{Segment(name)}/{Segment(version)}/download", idempotent: true);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout, cancellationToken);
        if (response.StatusCode is HttpStatusCode.Found or HttpStatusCode.SeeOther or HttpStatusCode.TemporaryRedirect
                or HttpStatusCode.MovedPermanently or HttpStatusCode.PermanentRedirect
            && response.Headers.Location is { } location)
            return location.IsAbsoluteUri ? location : new Uri(request.RequestUri!, location);
        await EnsureSuccessAsync(response, timeout.Token);
        throw new MarketplaceApiException((int)response.StatusCode, "invalid-response", "Expected a redirect",
            $"{request.RequestUri} answered {(int)response.StatusCode} instead of a 302 to the blob.", null, null);
    }

    /// <summary>
    /// Downloads a version's blob through its redirect into <paramref name="destination"/>, hashing as it streams (the
    /// blob is never held in memory), and stops at <paramref name="maxBytes"/>. The caller compares the digest.
    /// </summary>
    public async Task<DownloadResult> DownloadAsync(string name, string version, Stream destination, long? maxBytes = null,
        IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var url = await GetDownloadUrlAsync(name, version, cancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Options.Set(RetryPipeline.Idempotent, true);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, null, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var size = await Streams.CopyAsync(body, destination, hash, maxBytes, progress, cancellationToken);
        return new DownloadResult(Convert.ToHexStringLower(hash.GetHashAndReset()), size, url);
    }
}
