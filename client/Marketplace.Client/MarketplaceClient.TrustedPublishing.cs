using System.Text.Json;
using Marketplace.Client.Http;
using Marketplace.Packages;
using Marketplace.Signing;
using Marketplace.TrustedPublishing;

namespace Marketplace.Client;

/// <summary>The answer of <c>POST /v1/trusted-publishing/exchange</c>: the registry's certificate of an ephemeral key.</summary>
public sealed record ExchangeResult(DsseEnvelope Certificate);

public sealed partial class MarketplaceClient
{
    /// <summary>Well-known issuers by their short names (<c>mkt trusted add --issuer github|gitlab</c>).</summary>
    public static readonly IReadOnlyDictionary<string, string> KnownIssuers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["github"] = "https://token.actions.githubusercontent.com",
        ["gitlab"] = "https://gitlab.com",
    };

    /// <summary>The audience CI ID tokens must carry for this registry: its origin (scheme, host and port).</summary>
    public string Audience => _base.GetLeftPart(UriPartial.Authority);

    /// <summary><c>GET /v1/packages/{name}/trusted-publishers</c>.</summary>
    public Task<TrustedPublishersInfo> GetTrustedPublishersAsync(string name, CancellationToken cancellationToken = default) =>
        GetJsonAsync<TrustedPublishersInfo>($"v1/packages/{Segment(name)}/trusted-publishers", cancellationToken);

    public Task<TrustedPublishersInfo> AddTrustedPublisherAsync(StatementSigner signer, string name, TrustedPublisher publisher,
        CancellationToken cancellationToken = default) => ChangePublisherAsync(signer, "add", name, publisher, cancellationToken);

    public Task<TrustedPublishersInfo> RemoveTrustedPublisherAsync(StatementSigner signer, string name, TrustedPublisher publisher,
        CancellationToken cancellationToken = default) => ChangePublisherAsync(signer, "remove", name, publisher, cancellationToken);

    /// <summary>Turns "trusted publishing only" on or off: while on, the registry refuses owner-key-signed publishes.</summary>
    public Task<TrustedPublishersInfo> RequireTrustedPublishingAsync(StatementSigner signer, string name, bool required,
        CancellationToken cancellationToken = default) =>
        ChangeTrustedPublishersAsync(name, Sign(signer, PayloadTypes.TrustedPublisher,
            new TrustedPublisherStatement("require", name, null, null, null, null, required, Now)), cancellationToken);

    /// <summary><c>POST /v1/packages/{name}/trusted-publishers</c> with a statement signed elsewhere.</summary>
    public Task<TrustedPublishersInfo> ChangeTrustedPublishersAsync(string name, SignedStatement statement, CancellationToken cancellationToken = default) =>
        SendJsonAsync<TrustedPublishersInfo>(HttpMethod.Post, $"v1/packages/{Segment(name)}/trusted-publishers", Body(statement), cancellationToken);

    private Task<TrustedPublishersInfo> ChangePublisherAsync(StatementSigner signer, string action, string name, TrustedPublisher publisher,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        return ChangeTrustedPublishersAsync(name, Sign(signer, PayloadTypes.TrustedPublisher, new TrustedPublisherStatement(action, name,
            publisher.Issuer, publisher.Repository, publisher.Workflow, publisher.Environment, null, Now)), cancellationToken);
    }

    /// <summary><c>POST /v1/trusted-publishing/exchange</c>: a CI job's ID token for a certificate of <paramref name="publicKey"/>.</summary>
    public Task<ExchangeResult> ExchangeIdTokenAsync(string token, string name, string publicKey, CancellationToken cancellationToken = default) =>
        SendJsonAsync<ExchangeResult>(HttpMethod.Post, "v1/trusted-publishing/exchange", new { token, name, publicKey }, cancellationToken);

    /// <summary>
    /// Trusted publishing from CI, with no long-lived secret: makes an Ed25519 key in memory, exchanges the job's ID token for
    /// the registry's certificate of it, publishes with that key and certificate, and forgets the key.
    /// </summary>
    public async Task<(PublishResult Result, OwnerKey Key, DsseEnvelope Certificate)> PublishTrustedFileAsync(string idToken, string name, string version,
        PackageManifest manifest, string blobPath, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        using var ephemeral = StatementSigner.Generate();
        var exchanged = await ExchangeIdTokenAsync(idToken, name, ephemeral.Owner.PublicKey, cancellationToken);
        var result = await PublishFileAsync(ephemeral, exchanged.Certificate, name, version, manifest, blobPath, progress, cancellationToken);
        return (result, ephemeral.Owner, exchanged.Certificate);
    }

    /// <summary>
    /// GitHub Actions' ID token for this registry: GET <c>$ACTIONS_ID_TOKEN_REQUEST_URL&amp;audience=&lt;origin&gt;</c> with
    /// <c>Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN</c>, answered <c>{"value": jwt}</c>.
    /// </summary>
    public async Task<string> RequestGitHubIdTokenAsync(string requestUrl, string requestToken, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestUrl);
        var url = requestUrl + (requestUrl.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "audience=" + Uri.EscapeDataString(Audience);
        using var timeout = Bound(cancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(url, UriKind.Absolute));
        request.Options.Set(RetryPipeline.Idempotent, true);
        request.Headers.TryAddWithoutValidation("Authorization", "bearer " + requestToken);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"The GitHub Actions token endpoint answered {(int)response.StatusCode} (does the job have 'permissions: id-token: write'?).");
        using var document = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(timeout.Token));
        return document.RootElement.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new FormatException("The GitHub Actions token endpoint answered no 'value'.");
    }
}
