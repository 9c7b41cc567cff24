using Alba;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Marketplace.Tests.Faults;

/// <summary>The fault suite's own PostgreSQL cluster, and an in-process host on it (daemon in-process, read cache off).</summary>
public sealed class FaultFixture : IAsyncLifetime, IDisposable
{
    public OwnPostgres Postgres { get; } = new();
    public IAlbaHost Host { get; private set; } = null!;
    public string Schema { get; } = "f_" + Guid.NewGuid().ToString("n")[..12];
    public string BlobRoot { get; } = Path.Combine(Path.GetTempPath(), "mkt-fault-blobs-" + Guid.NewGuid().ToString("n")[..10]);

    public async Task InitializeAsync()
    {
        await Postgres.InitializeAsync();
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings:Marketplace"] = Postgres.ConnectionString,
            ["Marten:Schema"] = Schema,
            ["Blobs:Store"] = "file",
            ["Blobs:File:Root"] = BlobRoot,
            ["Reads:CacheFor"] = "00:00:00",
            ["Logging:LogLevel:Default"] = "None",
        };
        Host = await AlbaHost.For<Program>(b =>
        {
            foreach (var (k, v) in settings) b.UseSetting(k, v);
        });
    }

    /// <summary>Which of <paramref name="names"/> have a committed publish (read straight from mt_events).</summary>
    public async Task<HashSet<string>> PublishedStreamsAsync(string schema, IReadOnlyCollection<string> names)
    {
        await using var connection = new NpgsqlConnection(CheckConnection);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"select distinct stream_id from {schema}.mt_events where type = 'package_published' and stream_id = any(@names)", connection);
        command.Parameters.AddWithValue("names", names.ToArray());
        var found = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) found.Add(reader.GetString(0));
        return found;
    }

    public async Task<long> DownloadedCountAsync(string schema)
    {
        await using var connection = new NpgsqlConnection(CheckConnection);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"select count(*) from {schema}.mt_events where type = 'downloaded'", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The checks' own pool (no pooling): the host's pool may still hold connections from before a restart.</summary>
    private string CheckConnection => Postgres.ConnectionString + ";Pooling=false;Application Name=fault-check";

    /// <summary>The app as a process on this cluster, started once for the collection (its own schema and blob folder).</summary>
    public AppProcess App { get; private set; } = null!;
    public string AppSchema { get; } = "p_" + Guid.NewGuid().ToString("n")[..12];
    public HttpClient Http { get; } = new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(20) };
    private readonly SemaphoreSlim _starting = new(1, 1);

    public async Task<AppProcess> AppAsync()
    {
        await _starting.WaitAsync();
        try
        {
            if (App is not null) return App;
            var app = new AppProcess(new Dictionary<string, string>
            {
                ["ConnectionStrings__Marketplace"] = Postgres.ConnectionString,
                ["Marten__Schema"] = AppSchema,
                ["Blobs__Store"] = "file",
                ["Blobs__File__Root"] = BlobRoot + "-app",
                ["Blobs__File__UrlKey"] = Convert.ToBase64String(new byte[32]),
                // Outside Development the app refuses to start without the registry key.
                ["Registry__SigningKey"] = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData("fault registry key"u8)),
                ["Reads__CacheFor"] = "00:00:00",
                ["Logging__LogLevel__Default"] = "Warning",
            });
            await app.StartAsync(Http);
            return App = app;
        }
        finally
        {
            _starting.Release();
        }
    }

    public void Dispose() => _starting.Dispose();

    public IDocumentStore Store => Host.Services.GetRequiredService<IDocumentStore>();

    public async Task DisposeAsync()
    {
        if (App is not null) await App.DisposeAsync();
        Http.Dispose();
        if (Directory.Exists(BlobRoot + "-app")) Directory.Delete(BlobRoot + "-app", recursive: true);
        await Host.DisposeAsync();
        await Postgres.DisposeAsync();
        if (Directory.Exists(BlobRoot)) Directory.Delete(BlobRoot, recursive: true);
    }
}

[CollectionDefinition("faults")]
public sealed class FaultCollection : ICollectionFixture<FaultFixture>;
