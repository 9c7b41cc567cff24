using Marketplace.Functions.Search.Typesense;
using Marketplace.Testing;
using Marketplace.Tests.Support;
using Marten;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Marketplace.Tests.Search.Typesense;

/// <summary>
/// The marketplace with Typesense as its search adapter (<c>Typesense:Url</c> set), talking to a
/// <see cref="FakeTypesense"/> started for the fixture; real PostgreSQL, the async daemon in-process.
/// </summary>
public sealed class TypesenseFixture() : MarketplaceFixture(HostProfile.Default.With(
    ("Typesense:ApiKey", FakeTypesense.Key), ("Typesense:Retries", "2"), ("Typesense:RetryDelay", "00:00:00.010"), ("Typesense:ImportAttempts", "3"))),
    IAsyncLifetime
{
    public FakeTypesense Typesense { get; private set; } = null!;

    protected override async Task<IReadOnlyDictionary<string, string?>> ServiceSettingsAsync()
    {
        Typesense = await FakeTypesense.StartAsync();
        return new Dictionary<string, string?> { ["Typesense:Url"] = Typesense.Url };
    }

    // A paused subscription is restarted by the daemon's health check: poll every second rather than every five.
    protected override void ConfigureHost(IWebHostBuilder builder) =>
        builder.ConfigureServices(services => services.ConfigureMarten(o => o.Projections.HealthCheckPollingTime = TimeSpan.FromSeconds(1)));

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        await Typesense.DisposeAsync();
    }

    /// <summary>How far the feed's progression row says it has applied the event log.</summary>
    public async Task<long> FeedProgressAsync()
    {
        await using var session = Store.QuerySession();
        var rows = await session.QueryAsync<long>(
            $"select coalesce(max(last_seq_id), 0) from {Schema}.mt_event_progression where name = ?", default, TypesenseFeed.ProgressionName);
        return rows[0];
    }

    public static Task Eventually(Func<Task<bool>> condition, string what, int seconds = 30) =>
        Poll.UntilAsync(condition, what, TimeSpan.FromSeconds(seconds));

    public static Task Eventually(Func<bool> condition, string what, int seconds = 30) =>
        Poll.UntilAsync(condition, what, TimeSpan.FromSeconds(seconds));
}
