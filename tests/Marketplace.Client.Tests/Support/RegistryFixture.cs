using System.Net;
using Marten;
using Marten.Events;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Marketplace.Client.Tests.Support;

/// <summary>
/// The real marketplace on Kestrel at a loopback port, on real PostgreSQL in a schema of its own (so classes run in
/// parallel), with the file blob store in a temporary folder (so tests can alter a blob on disk), the async daemon
/// in-process and the read cache off (so an altered document is served at once).
/// </summary>
public class RegistryFixture : IAsyncLifetime
{
    private WebApplicationFactory<Program> _factory = null!;

    public string Schema { get; } = "cli_" + Guid.NewGuid().ToString("n")[..12];
    public string BlobRoot { get; } = Path.Combine(Path.GetTempPath(), "mkt-cli-blobs-" + Guid.NewGuid().ToString("n")[..12]);
    public Uri Url { get; private set; } = null!;
    public IDocumentStore Store => _factory.Services.GetRequiredService<IDocumentStore>();

    public static string Postgres =>
        Environment.GetEnvironmentVariable("MARKETPLACE_TEST_PG")
        ?? "Host=127.0.0.1;Port=5432;Database=marketplace_test;Username=marketplace;Password=marketplace;SSL Mode=Disable;Maximum Pool Size=20";

    /// <summary>Settings of a derived fixture on top of the common ones (started services it points at, say).</summary>
    protected virtual Task<IReadOnlyDictionary<string, string>> MoreSettingsAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, string>>(new Dictionary<string, string>());

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings:Marketplace"] = Postgres,
            ["Marten:Schema"] = Schema,
            ["Blobs:Store"] = "file",
            ["Blobs:File:Root"] = BlobRoot,
            ["Reads:CacheFor"] = "00:00:00",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in await MoreSettingsAsync()) settings[key] = value;
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            foreach (var (key, value) in settings) b.UseSetting(key, value);
        });
        _factory.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        _factory.StartServer();
        var address = _factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Url = new Uri(address);
    }

    public virtual async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        if (Directory.Exists(BlobRoot)) Directory.Delete(BlobRoot, recursive: true);
        await using var connection = new Npgsql.NpgsqlConnection(Postgres);
        await connection.OpenAsync();
        await using var drop = new Npgsql.NpgsqlCommand($"drop schema if exists {Schema} cascade", connection);
        await drop.ExecuteNonQueryAsync();
    }

    /// <summary>Every async read model (documents, search, the transparency log) has caught up with every event.</summary>
    public Task CaughtUpAsync() => Store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(30));

    /// <summary>Runs SQL against this fixture's schema, written <c>{schema}</c> in the text (tamper tests).</summary>
    public async Task<int> ExecuteAsync(string sql, params object[] parameters)
    {
        await using var connection = new Npgsql.NpgsqlConnection(Postgres);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql.Replace("{schema}", Schema, StringComparison.Ordinal), connection);
        foreach (var p in parameters) command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = p });
        return await command.ExecuteNonQueryAsync();
    }

    public string BlobPath(string sha256) => Path.Combine(BlobRoot, "sha256", sha256[..2], sha256);
}

public sealed class JourneyRegistry : RegistryFixture;

public sealed class TamperRegistry : RegistryFixture;

[CollectionDefinition("journey")]
public sealed class JourneyCollection : ICollectionFixture<JourneyRegistry>;

[CollectionDefinition("tamper")]
public sealed class TamperCollection : ICollectionFixture<TamperRegistry>;
