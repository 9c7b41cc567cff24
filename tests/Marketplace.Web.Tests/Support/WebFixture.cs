using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Marketplace.Packages;
using Marketplace.Signing;
using Marten;
using Marten.Events;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Marketplace.Web.Tests.Support;

/// <summary>
/// The real marketplace on Kestrel at a loopback port (so a real browser can load it), on real PostgreSQL in a
/// schema of its own, with the file blob store, the async daemon in-process and the read and page caches off.
/// Publishes, yanks and downloads go through the real HTTP API, signed like a real client.
/// </summary>
public class WebFixture : IAsyncLifetime
{
    private WebApplicationFactory<Program> _factory = null!;

    public string Schema { get; } = "web_" + Guid.NewGuid().ToString("n")[..12];
    public string BlobRoot { get; } = Path.Combine(Path.GetTempPath(), "mkt-web-blobs-" + Guid.NewGuid().ToString("n")[..12]);
    public Uri Url { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public IDocumentStore Store => _factory.Services.GetRequiredService<IDocumentStore>();

    public static string Postgres =>
        Environment.GetEnvironmentVariable("MARKETPLACE_TEST_PG")
        ?? "Host=127.0.0.1;Port=5432;Database=marketplace_test;Username=marketplace;Password=marketplace;SSL Mode=Disable;Maximum Pool Size=20";

    public virtual Task InitializeAsync()
    {
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings:Marketplace"] = Postgres,
            ["Marten:Schema"] = Schema,
            ["Blobs:Store"] = "file",
            ["Blobs:File:Root"] = BlobRoot,
            ["Reads:CacheFor"] = "00:00:00",
            ["Logging:LogLevel:Default"] = "Warning",
            // The browser tests publish and yank many times from one address.
            ["Protection:Enabled"] = "false",
        };
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            foreach (var (key, value) in settings) b.UseSetting(key, value);
        });
        _factory.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        _factory.StartServer();
        var address = _factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Url = new Uri(address);
        Http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = Url };
        return Task.CompletedTask;
    }

    public virtual async Task DisposeAsync()
    {
        Http.Dispose();
        await _factory.DisposeAsync();
        if (Directory.Exists(BlobRoot)) Directory.Delete(BlobRoot, recursive: true);
        await using var connection = new Npgsql.NpgsqlConnection(Postgres);
        await connection.OpenAsync();
        await using var drop = new Npgsql.NpgsqlCommand($"drop schema if exists {Schema} cascade", connection);
        await drop.ExecuteNonQueryAsync();
    }

    /// <summary>Every async read model (documents, dependents, search, the log) has caught up with every event.</summary>
    public Task CaughtUpAsync() => Store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));

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
