using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Marketplace.Packages;
using Marketplace.Signing;

namespace Marketplace.Benchmark;

/// <summary>
/// The signed mutations the benchmark sends, built as a client does: a statement signed by the run's key now
/// (statements older than five minutes are refused, so a retry signs again) and the public key beside it.
/// </summary>
internal static class SignedRequests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly MediaTypeHeaderValue ContentType = new("application/json");

    private sealed record PublishBody(DsseEnvelope Envelope, string PublicKey, string Blob);

    private sealed record YankBody(DsseEnvelope Envelope, string PublicKey);

    /// <summary><c>PUT /v1/packages/{name}/{version}</c> with the blob inline.</summary>
    public static HttpRequestMessage Publish(StatementSigner signer, string name, string version, PackageManifest manifest, byte[] blob)
    {
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(blob));
        var statement = new PublishStatement(name, version, sha256, blob.Length, manifest, IssuedAt: DateTimeOffset.UtcNow);
        var envelope = signer.Sign(PayloadTypes.Publish, statement);
        return Send(HttpMethod.Put, $"/v1/packages/{name}/{version}", new PublishBody(envelope, signer.Owner.PublicKey, Convert.ToBase64String(blob)));
    }

    /// <summary><c>POST /v1/packages/{name}/{version}/yank</c> with the action <c>yank</c>.</summary>
    public static HttpRequestMessage Yank(StatementSigner signer, string name, string version, string reason)
    {
        var statement = new YankStatement("yank", name, version, reason, IssuedAt: DateTimeOffset.UtcNow);
        var envelope = signer.Sign(PayloadTypes.Yank, statement);
        return Send(HttpMethod.Post, $"/v1/packages/{name}/{version}/yank", new YankBody(envelope, signer.Owner.PublicKey));
    }

    private static HttpRequestMessage Send<T>(HttpMethod method, string path, T body)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, Json));
        content.Headers.ContentType = ContentType;
        return new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = content };
    }
}
