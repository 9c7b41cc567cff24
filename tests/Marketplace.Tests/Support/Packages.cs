using System.Security.Cryptography;
using System.Text.Json;
using Alba;
using Marketplace.Packages;
using Marketplace.Signing;

namespace Marketplace.Tests.Support;

/// <summary>State builders and request makers: a publisher's side of the API, signed like a real client.</summary>
public static class Packages
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static string UniqueName(string prefix = "pkg") => $"{prefix}-{Guid.NewGuid().ToString("n")[..10]}";

    public static byte[] RandomBlob(int size = 10 * 1024) => RandomNumberGenerator.GetBytes(size);

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static PackageManifest Manifest() => new(
        Description: "A package for tests",
        Authors: ["Ada <ada@example.com>"],
        License: "MIT",
        Repository: "https://example.com/repo",
        Keywords: ["test"],
        Categories: ["testing"],
        Dependencies: new Dictionary<string, string> { ["other-package"] = "^1.2.0" });

    public static PublishStatement Statement(string name, string version, byte[] blob, DateTimeOffset? issuedAt = null, PackageManifest? manifest = null) =>
        new(name, version, Sha256(blob), blob.Length, manifest ?? Manifest(), issuedAt ?? DateTimeOffset.UtcNow);

    public static object PublishBody(StatementSigner signer, PublishStatement statement, byte[]? blob) => new
    {
        envelope = signer.Sign(PayloadTypes.Publish, statement),
        publicKey = signer.Owner.PublicKey,
        blob = blob is null ? null : Convert.ToBase64String(blob),
    };

    public static object YankBody(StatementSigner signer, string action, string name, string version, string? reason = "broken", DateTimeOffset? issuedAt = null) => new
    {
        envelope = signer.Sign(PayloadTypes.Yank, new YankStatement(action, name, version, reason, issuedAt ?? DateTimeOffset.UtcNow)),
        publicKey = signer.Owner.PublicKey,
    };

    public static object OwnersBody(StatementSigner signer, string action, string name, OwnerKey key, DateTimeOffset? issuedAt = null) => new
    {
        envelope = signer.Sign(PayloadTypes.Owners, new OwnersStatement(action, name, key.KeyId, key.PublicKey, issuedAt ?? DateTimeOffset.UtcNow)),
        publicKey = signer.Owner.PublicKey,
    };

    public sealed record Published(string Name, string Version, byte[] Blob, StatementSigner Owner, long Sequence)
    {
        public string Sha256 => Packages.Sha256(Blob);
    }

    /// <summary>Publishes a version inline and expects 201.</summary>
    public static async Task<Published> PublishedPackage(this IAlbaHost host, string? name = null, string version = "1.0.0",
        StatementSigner? owner = null, byte[]? blob = null)
    {
        name ??= UniqueName();
        owner ??= StatementSigner.Generate();
        blob ??= RandomBlob();
        var result = await host.Scenario(s =>
        {
            s.Put.Json(PublishBody(owner, Statement(name, version, blob), blob)).ToUrl($"/v1/packages/{name}/{version}");
            s.StatusCodeShouldBe(201);
        });
        var body = JsonDocument.Parse(await result.ReadAsTextAsync()).RootElement;
        Assert.True(body.GetProperty("sequence").GetInt64() > 0, "a publish answers with the global sequence of its event");
        return new Published(name, version, blob, owner, body.GetProperty("sequence").GetInt64());
    }

    public static async Task<JsonElement> GetJson(this IAlbaHost host, string url, int status = 200)
    {
        var result = await host.Scenario(s =>
        {
            s.Get.Url(url);
            s.StatusCodeShouldBe(status);
        });
        return JsonDocument.Parse(await result.ReadAsTextAsync()).RootElement.Clone();
    }

    /// <summary>Sends a request and returns status and problem code (if any) without asserting.</summary>
    public static async Task<(int Status, string? Code, JsonElement Body)> Send(this IAlbaHost host, Action<Scenario> configure)
    {
        var result = await host.Scenario(s =>
        {
            configure(s);
            s.IgnoreStatusCode();
        });
        var text = await result.ReadAsTextAsync();
        JsonElement body = default;
        string? code = null;
        if (text.Length > 0 && text.TrimStart().StartsWith('{'))
        {
            body = JsonDocument.Parse(text).RootElement.Clone();
            if (body.TryGetProperty("code", out var c)) code = c.GetString();
        }
        return (result.Context.Response.StatusCode, code, body);
    }
}

public static class HostJson
{
    public static async Task<JsonElement> GetJsonFromPost(this Alba.IAlbaHost host, string url, object body, int status)
    {
        var result = await host.Scenario(s =>
        {
            s.Post.Json(body).ToUrl(url);
            s.StatusCodeShouldBe(status);
        });
        return JsonDocument.Parse(await result.ReadAsTextAsync()).RootElement.Clone();
    }
}
