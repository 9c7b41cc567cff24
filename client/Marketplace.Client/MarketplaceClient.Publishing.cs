using System.Net.Http.Json;
using Marketplace.Client.Http;
using Marketplace.Packages;
using Marketplace.Signing;

namespace Marketplace.Client;

/// <summary>A signed statement as the mutation endpoints take it: the DSSE envelope and the signer's public key.</summary>
public sealed record SignedStatement(DsseEnvelope Envelope, string PublicKey);

public sealed partial class MarketplaceClient
{
    /// <summary><c>POST /v1/uploads</c>: a presigned PUT for a large blob, or <c>exists</c> when the registry already has it.</summary>
    public Task<UploadTicket> CreateUploadAsync(string sha256, long size, CancellationToken cancellationToken = default) =>
        SendJsonAsync<UploadTicket>(HttpMethod.Post, "v1/uploads", new { sha256, size }, cancellationToken);

    /// <summary>PUTs a file to a presigned upload URL with the headers the ticket names, streaming it from disk.</summary>
    public async Task UploadBlobAsync(UploadTicket ticket, string path, IProgress<TransferProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        if (ticket.Exists) return;
        if (ticket.UploadUrl is null)
            throw new ArgumentException("The upload ticket has no URL.", nameof(ticket));
        var size = new FileInfo(path).Length;
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(_base, ticket.UploadUrl));
        request.Options.Set(RetryPipeline.Idempotent, true);
        request.Content = new FileContent(path, size, progress);
        foreach (var (key, value) in ticket.Headers ?? new Dictionary<string, string>())
        {
            if (key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                continue;
            if (key.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
            {
                request.Content.Headers.Remove(key);
                request.Content.Headers.TryAddWithoutValidation(key, value);
            }
            else
            {
                request.Headers.TryAddWithoutValidation(key, value);
            }
        }
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, null, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
    }

    /// <summary>
    /// <c>PUT /v1/packages/{name}/{version}</c> exactly as API.md has it: an envelope signed elsewhere, the signer's key,
    /// and the blob in base64 when it is sent inline.
    /// </summary>
    public async Task<PublishResult> PublishAsync(string name, string version, SignedStatement statement, string? blobBase64 = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(statement);
        using var timeout = Bound(cancellationToken);
        using var request = Request(HttpMethod.Put, $"v1/packages/{Segment(name)}/{Segment(version)}", idempotent: false);
        request.Content = JsonContent.Create(new { envelope = statement.Envelope, publicKey = statement.PublicKey, blob = blobBase64 }, options: ClientJson.Options);
        await request.Content.LoadIntoBufferAsync(timeout.Token);
        return await PublishedAsync(request, timeout, cancellationToken);
    }

    /// <summary>
    /// Publishes a blob file: hashes it, uploads it first when it is over the registry's inline limit (presigned PUT,
    /// with progress), then signs the publish statement — after the upload, so a slow upload cannot make it stale — and
    /// sends it, with the blob streamed inline when it is small enough.
    /// </summary>
    public Task<PublishResult> PublishFileAsync(StatementSigner signer, string name, string version, PackageManifest manifest,
        string blobPath, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default) =>
        PublishFileAsync(signer, null, name, version, manifest, blobPath, progress, cancellationToken);

    /// <summary>
    /// As <see cref="PublishFileAsync(StatementSigner, string, string, PackageManifest, string, IProgress{TransferProgress}?, CancellationToken)"/>,
    /// with the publisher certificate of <paramref name="signer"/>'s key sent beside the statement (trusted publishing).
    /// </summary>
    public async Task<PublishResult> PublishFileAsync(StatementSigner signer, DsseEnvelope? certificate, string name, string version, PackageManifest manifest,
        string blobPath, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(signer);
        var (sha256, size) = await Streams.HashFileAsync(blobPath, cancellationToken);
        var limits = (await GetRegistryInfoAsync(cancellationToken)).Limits;
        var inline = size <= limits.MaxInlineBlobBytes;
        if (!inline)
        {
            var ticket = await CreateUploadAsync(sha256, size, cancellationToken);
            await UploadBlobAsync(ticket, blobPath, progress, cancellationToken);
        }
        var envelope = signer.Sign(PayloadTypes.Publish,
            new PublishStatement(name, version, sha256, size, manifest, Options.TimeProvider.GetUtcNow()));
        if (!inline && certificate is null)
            return await PublishAsync(name, version, new SignedStatement(envelope, signer.Owner.PublicKey), null, cancellationToken) with { Uploaded = true };
        if (!inline)
        {
            using var bounded = Bound(cancellationToken);
            using var put = Request(HttpMethod.Put, $"v1/packages/{Segment(name)}/{Segment(version)}", idempotent: false);
            put.Content = JsonContent.Create(new { envelope, publicKey = signer.Owner.PublicKey, certificate }, options: ClientJson.Options);
            await put.Content.LoadIntoBufferAsync(bounded.Token);
            return await PublishedAsync(put, bounded, cancellationToken) with { Uploaded = true };
        }

        // Publish bodies get a longer bound than other calls: they carry up to a few MB.
        using var timeout = Bound(cancellationToken);
        using var request = Request(HttpMethod.Put, $"v1/packages/{Segment(name)}/{Segment(version)}", idempotent: false);
        request.Content = new InlinePublishContent(envelope, signer.Owner.PublicKey, blobPath, size, certificate);
        progress?.Report(new TransferProgress(0, size));
        var result = await PublishedAsync(request, timeout, cancellationToken);
        progress?.Report(new TransferProgress(size, size));
        return result;
    }

    private async Task<PublishResult> PublishedAsync(HttpRequestMessage request, CancellationTokenSource timeout, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout, cancellationToken);
        await EnsureSuccessAsync(response, timeout.Token);
        var result = await ReadJsonAsync<PublishResult>(response, timeout.Token);
        return response.Headers.Location is { } location ? result with { Location = new Uri(_base, location) } : result;
    }

    // ---- yank, owners ----

    public Task<YankResult> YankAsync(StatementSigner signer, string name, string version, string? reason = null,
        CancellationToken cancellationToken = default) =>
        ChangeYankAsync(name, version, Sign(signer, PayloadTypes.Yank, new YankStatement("yank", name, version, reason, Now)), cancellationToken);

    public Task<YankResult> UnyankAsync(StatementSigner signer, string name, string version, CancellationToken cancellationToken = default) =>
        ChangeYankAsync(name, version, Sign(signer, PayloadTypes.Yank, new YankStatement("unyank", name, version, null, Now)), cancellationToken);

    /// <summary><c>POST /v1/packages/{name}/{version}/yank</c> with a statement signed elsewhere.</summary>
    public Task<YankResult> ChangeYankAsync(string name, string version, SignedStatement statement, CancellationToken cancellationToken = default) =>
        SendJsonAsync<YankResult>(HttpMethod.Post, $"v1/packages/{Segment(name)}/{Segment(version)}/yank", Body(statement), cancellationToken);

    public Task<OwnersInfo> AddOwnerAsync(StatementSigner signer, string name, OwnerKey owner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(owner);
        return ChangeOwnersAsync(name, Sign(signer, PayloadTypes.Owners, new OwnersStatement("add", name, owner.KeyId, owner.PublicKey, Now)), cancellationToken);
    }

    public Task<OwnersInfo> RemoveOwnerAsync(StatementSigner signer, string name, string keyId, CancellationToken cancellationToken = default) =>
        ChangeOwnersAsync(name, Sign(signer, PayloadTypes.Owners, new OwnersStatement("remove", name, keyId, null, Now)), cancellationToken);

    /// <summary><c>POST /v1/packages/{name}/owners</c> with a statement signed elsewhere.</summary>
    public Task<OwnersInfo> ChangeOwnersAsync(string name, SignedStatement statement, CancellationToken cancellationToken = default) =>
        SendJsonAsync<OwnersInfo>(HttpMethod.Post, $"v1/packages/{Segment(name)}/owners", Body(statement), cancellationToken);

    private DateTimeOffset Now => Options.TimeProvider.GetUtcNow();

    private static SignedStatement Sign(StatementSigner signer, string payloadType, object statement)
    {
        ArgumentNullException.ThrowIfNull(signer);
        return new SignedStatement(signer.Sign(payloadType, statement), signer.Owner.PublicKey);
    }

    private static object Body(SignedStatement statement) => new { envelope = statement.Envelope, publicKey = statement.PublicKey };
}
