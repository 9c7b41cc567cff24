using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Marketplace.Packages;
using Marketplace.Signing;
using Marketplace.Testing;

namespace Marketplace.Web.Tests.Support;

/// <summary>
/// The registry a real browser loads: <see cref="KestrelRegistry"/> with rate limits off. Publishes, yanks and
/// downloads go through the real HTTP API, signed like a real client.
/// </summary>
public class WebFixture() : KestrelRegistry("web")
{
    public HttpClient Http { get; private set; } = null!;

    // The browser tests publish and yank many times from one address.
    protected override Task<IReadOnlyDictionary<string, string>> MoreSettingsAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, string>>(new Dictionary<string, string> { ["Protection:Enabled"] = "false" });

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = Url };
    }

    public override async Task DisposeAsync()
    {
        Http.Dispose();
        await base.DisposeAsync();
    }

    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("n")[..8]}";

    public static PackageManifest Manifest(string description, string? readme = null, IReadOnlyDictionary<string, string>? dependencies = null,
        string[]? keywords = null, string[]? categories = null, string license = "MIT") => new(
        Description: description,
        Authors: ["Ada Lovelace"],
        License: license,
        Repository: "https://example.com/repo",
        Homepage: "https://example.com",
        Keywords: keywords ?? ["web"],
        Categories: categories ?? ["testing"],
        Dependencies: dependencies,
        Readme: readme);

    /// <summary>Publishes a version inline through <c>PUT /v1/packages/{name}/{version}</c> and expects 201.</summary>
    public async Task PublishAsync(StatementSigner owner, string name, string version, PackageManifest manifest)
    {
        var blob = RandomNumberGenerator.GetBytes(2048);
        var statement = new PublishStatement(name, version, Convert.ToHexStringLower(SHA256.HashData(blob)), blob.Length, manifest, DateTimeOffset.UtcNow);
        using var response = await Http.PutAsJsonAsync($"/v1/packages/{name}/{version}", new
        {
            envelope = owner.Sign(PayloadTypes.Publish, statement),
            publicKey = owner.Owner.PublicKey,
            blob = Convert.ToBase64String(blob),
        }, Json);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"publish {name}@{version}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    public async Task YankAsync(StatementSigner owner, string name, string version, string reason)
    {
        using var response = await Http.PostAsJsonAsync($"/v1/packages/{name}/{version}/yank", new
        {
            envelope = owner.Sign(PayloadTypes.Yank, new YankStatement("yank", name, version, reason, DateTimeOffset.UtcNow)),
            publicKey = owner.Owner.PublicKey,
        }, Json);
        Assert.True(response.IsSuccessStatusCode, $"yank {name}@{version}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    public async Task DownloadAsync(string name, string version)
    {
        using var response = await Http.GetAsync($"/v1/packages/{name}/{version}/download");
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
}
