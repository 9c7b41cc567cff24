using System.Collections.Concurrent;
using System.Text.Json;
using Marketplace.Functions.Protection;

namespace Marketplace.Functions.TrustedPublishing;

/// <summary>An issuer's keys could not be fetched: the exchange answers 503, never "invalid token".</summary>
public sealed class OidcUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The signing keys of each configured issuer, from its OIDC discovery document (<c>{issuer}/.well-known/openid-configuration</c>
/// → <c>jwks_uri</c>), cached for <see cref="TrustedPublishingOptions.KeysCacheFor"/> and fetched again once when a token
/// names a <c>kid</c> the cache does not hold (key rotation), at most every <see cref="TrustedPublishingOptions.KeyRefreshMinInterval"/>.
/// </summary>
public sealed class OidcKeys(IHttpClientFactory clients, TrustedPublishingOptions options, ProtectionOptions protection, TimeProvider time)
{
    public const string HttpClientName = "oidc";
    private const long MaxDocumentBytes = 512 * 1024;

    private sealed record KeySet(IReadOnlyList<JsonElement> Keys, DateTimeOffset FetchedAt);

    private readonly ConcurrentDictionary<string, KeySet> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    /// <summary>The issuer's keys that may have signed a token with this <c>kid</c> (all of them when it names none).</summary>
    public async Task<IReadOnlyList<JsonElement>> CandidatesAsync(string issuer, string? kid, CancellationToken ct)
    {
        var set = await KeysAsync(issuer, refreshIfOlderThan: options.KeysCacheFor, ct);
        var found = Matching(set, kid);
        if (found.Count == 0 && kid is not null)
            found = Matching(await KeysAsync(issuer, refreshIfOlderThan: options.KeyRefreshMinInterval, ct), kid);
        return found;
    }

    private static List<JsonElement> Matching(KeySet set, string? kid) =>
        set.Keys
            .Where(k => kid is null || (k.TryGetProperty("kid", out var id) && id.ValueKind == JsonValueKind.String && id.GetString() == kid))
            .ToList();

    private async Task<KeySet> KeysAsync(string issuer, TimeSpan refreshIfOlderThan, CancellationToken ct)
    {
        if (_cache.TryGetValue(issuer, out var cached) && time.GetUtcNow() - cached.FetchedAt < refreshIfOlderThan)
            return cached;
        var gate = _locks.GetOrAdd(issuer, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            // Another request may have fetched them while this one waited.
            if (_cache.TryGetValue(issuer, out cached) && time.GetUtcNow() - cached.FetchedAt < refreshIfOlderThan)
                return cached;
            var fresh = new KeySet(await FetchAsync(issuer, ct), time.GetUtcNow());
            _cache[issuer] = fresh;
            return fresh;
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<IReadOnlyList<JsonElement>> FetchAsync(string issuer, CancellationToken ct)
    {
        var local = protection.Profile == ProtectionOptions.Local;
        var discovery = await GetJsonAsync(issuer + "/.well-known/openid-configuration", ct);
        if (!discovery.TryGetProperty("issuer", out var named) || named.GetString()?.TrimEnd('/') != issuer)
            throw new OidcUnavailableException($"The discovery document of {issuer} names another issuer.");
        var jwksUri = discovery.TryGetProperty("jwks_uri", out var j) && j.ValueKind == JsonValueKind.String ? j.GetString()! : "";
        if (!TrustedPublishingOptions.IsAllowedUrl(jwksUri, local))
            throw new OidcUnavailableException($"The discovery document of {issuer} has no usable jwks_uri.");
        var jwks = await GetJsonAsync(jwksUri, ct);
        if (!jwks.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Array)
            throw new OidcUnavailableException($"The JWKS of {issuer} has no keys array.");
        return keys.EnumerateArray().Where(k => k.ValueKind == JsonValueKind.Object).Select(k => k.Clone()).ToList();
    }

    private async Task<JsonElement> GetJsonAsync(string url, CancellationToken ct)
    {
        try
        {
            using var response = await clients.CreateClient(HttpClientName).GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!response.IsSuccessStatusCode)
                throw new OidcUnavailableException($"{url} answered {(int)response.StatusCode}.");
            if (response.Content.Headers.ContentLength > MaxDocumentBytes)
                throw new OidcUnavailableException($"{url} is too large.");
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            using var limited = new MemoryStream();
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await body.ReadAsync(buffer, ct)) > 0)
            {
                if (limited.Length + read > MaxDocumentBytes) throw new OidcUnavailableException($"{url} is too large.");
                limited.Write(buffer, 0, read);
            }
            return JsonDocument.Parse(limited.ToArray()).RootElement.Clone();
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            throw new OidcUnavailableException($"{url} could not be read: {e.Message}", e);
        }
    }
}
