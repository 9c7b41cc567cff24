using System.Net;
using Marten;
using Marten.Events;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Marketplace.Testing;

/// <summary>
/// The real marketplace on Kestrel at a loopback port (so a real client or browser speaks real HTTP to it), on real
/// PostgreSQL in a schema of its own (so classes run in parallel), with the file blob store in a temporary folder (so
/// tests can alter a blob on disk), the async daemon in-process and the read cache off (so an altered document is
/// served at once). A derived fixture adds settings through <see cref="MoreSettingsAsync"/>.
/// </summary>
public abstract class KestrelRegistry(string name) : IAsyncLifetime
{
    private WebApplicationFactory<Program> _factory = null!;

    public string Schema { get; } = TestDatabase.NewSchema(name + "_");
    public string BlobRoot { get; } = Path.Combine(Path.GetTempPath(), $"mkt-{name}-blobs-" + Guid.NewGuid().ToString("n")[..12]);
    public Uri Url { get; private set; } = null!;
    public IDocumentStore Store => _factory.Services.GetRequiredService<IDocumentStore>();

    public static string Postgres => TestDatabase.ConnectionString;

    /// <summary>Settings of a derived fixture on top of the common ones (started services it points at, say).</summary>
    protected virtual Task<IReadOnlyDictionary<string, string>> MoreSettingsAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, string>>(new Dictionary<string, string>());

    public virtual async Task InitializeAsync()
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
        await TestDatabase.DropSchemaAsync(Schema);
    }

    /// <summary>Every async read model (documents, dependents, search, the log) has caught up with every event.</summary>
    public Task CaughtUpAsync() => Store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));

    /// <summary>Runs SQL against this fixture's schema, written <c>{schema}</c> in the text (tamper tests).</summary>
    public Task<int> ExecuteAsync(string sql, params object[] parameters) => TestDatabase.ExecuteAsync(Schema, sql, parameters);

    public string BlobPath(string sha256) => Path.Combine(BlobRoot, "sha256", sha256[..2], sha256);
}
