using System.Net;
using System.Text.Json;
using Alba;
using Marketplace.Functions.Webhooks.Delivering;
using Marketplace.Signing;
using Marketplace.Tests.Support;
using Marketplace.Webhooks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Marketplace.Tests.Webhooks;

/// <summary>
/// Webhooks for local development: private networks allowed (receivers on loopback), a retry schedule in
/// milliseconds that still spans a few seconds (7 attempts), a 1 s attempt timeout, a fast dispatcher poll.
/// </summary>
public sealed class WebhookFixture() : MarketplaceFixture(HostProfile.Default.With(
    ("Webhooks:AllowPrivateNetworks", "true"),
    ("Webhooks:RetrySchedule", Schedule),
    ("Webhooks:Jitter", "0.1"),
    ("Webhooks:Timeout", "00:00:01"),
    ("Webhooks:PollInterval", "00:00:00.050"),
    ("Webhooks:MaxSubscriptionsPerKey", "3"),
    ("Webhooks:DownloadEventKeys", "some-other-key, " + DownloadsKey.Owner.KeyId)))
{
    public const string Schedule = "00:00:00.100,00:00:00.200,00:00:00.400,00:00:00.800,00:00:01.600,00:00:03";

    /// <summary>The key the operator allowed registry-wide download events (<c>Webhooks:DownloadEventKeys</c>).</summary>
    public static readonly StatementSigner DownloadsKey = StatementSigner.Generate();
}

/// <summary>
/// The production default (private networks refused) with a DNS that answers a public-looking name with loopback and
/// another with the metadata address, so the check after resolution is what stands in the way; two attempts only.
/// </summary>
public sealed class StrictWebhookFixture() : MarketplaceFixture(HostProfile.Default.With(
    ("Webhooks:RetrySchedule", "00:00:00.050"), ("Webhooks:PollInterval", "00:00:00.050"), ("Webhooks:Timeout", "00:00:01")))
{
    public static readonly Dictionary<string, IPAddress[]> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["receiver.example.com"] = [IPAddress.Loopback],
        ["metadata.example.com"] = [IPAddress.Parse("169.254.169.254")],
        ["mixed.example.com"] = [IPAddress.Parse("93.184.216.34"), IPAddress.Parse("10.0.0.7")],
    };

    protected override void ConfigureHost(IWebHostBuilder builder) =>
        builder.ConfigureServices(s => s.AddSingleton<IWebhookDns>(new FakeDns()));

    private sealed class FakeDns : IWebhookDns
    {
        public Task<IPAddress[]> ResolveAsync(string host, CancellationToken ct) =>
            Names.TryGetValue(host, out var addresses) ? Task.FromResult(addresses) : Dns.GetHostAddressesAsync(host, ct);
    }
}

[CollectionDefinition("webhooks")]
public sealed class WebhookCollection : ICollectionFixture<WebhookFixture>;

[CollectionDefinition("webhooks strict")]
public sealed class StrictWebhookCollection : ICollectionFixture<StrictWebhookFixture>;

/// <summary>A subscriber's side of the API: signed webhook statements, the secret, the delivery log.</summary>
public static class WebhookClient
{
    public const string PublishedType = "dev.marketplace.package.published";
    public const string YankedType = "dev.marketplace.version.yanked";
    public const string DownloadedType = "dev.marketplace.package.downloaded";

    public sealed record Subscription(Guid Id, string Secret, StatementSigner Signer, JsonElement Created);

    public static object Body(StatementSigner signer, WebhookStatement statement) => new
    {
        envelope = signer.Sign(PayloadTypes.Webhook, statement),
        publicKey = signer.Owner.PublicKey,
    };

    public static WebhookStatement Create(WebhookScope scope, string url, IReadOnlyList<string>? eventTypes = null, DateTimeOffset? issuedAt = null) =>
        new(WebhookStatement.Create, issuedAt ?? DateTimeOffset.UtcNow, Scope: scope, Url: url, EventTypes: eventTypes);

    public static WebhookStatement Update(Guid id, string? url = null, IReadOnlyList<string>? eventTypes = null) =>
        new(WebhookStatement.Update, DateTimeOffset.UtcNow, id.ToString("D"), Url: url, EventTypes: eventTypes);

    public static WebhookStatement Remove(Guid id) => new(WebhookStatement.Remove, DateTimeOffset.UtcNow, id.ToString("D"));

    public static WebhookStatement Redeliver(Guid id, Guid? deliveryId = null, long? fromSequence = null) =>
        new(WebhookStatement.Redeliver, DateTimeOffset.UtcNow, id.ToString("D"), DeliveryId: deliveryId?.ToString("D"), FromSequence: fromSequence);

    public static async Task<Subscription> Subscribe(this IAlbaHost host, StatementSigner signer, WebhookScope scope, string url, IReadOnlyList<string>? eventTypes = null)
    {
        var created = await host.GetJsonFromPost("/v1/webhooks", Body(signer, Create(scope, url, eventTypes)), 201);
        return new Subscription(Guid.Parse(created.GetProperty("id").GetString()!), created.GetProperty("secret").GetString()!, signer, created);
    }

    public static Task<(int Status, string? Code, JsonElement Body)> Post(this IAlbaHost host, StatementSigner signer, WebhookStatement statement) =>
        host.Send(s => s.Post.Json(Body(signer, statement)).ToUrl("/v1/webhooks"));

    public static async Task<byte[]> RegistryPublicKey(this IAlbaHost host)
    {
        var facts = await host.GetJson("/.well-known/marketplace");
        return Convert.FromBase64String(facts.GetProperty("registryKeys")[0].GetProperty("publicKey").GetString()!);
    }

    public static Task<(int Status, string? Code, JsonElement Body)> GetAuthorized(this IAlbaHost host, string url, string? secret) =>
        host.Send(s =>
        {
            s.Get.Url(url);
            if (secret is not null) s.WithRequestHeader("Authorization", "Bearer " + secret);
        });

    public static async Task<JsonElement[]> Deliveries(this IAlbaHost host, Subscription subscription, long after = 0)
    {
        var (status, _, body) = await host.GetAuthorized($"/v1/webhooks/{subscription.Id:D}/deliveries?after={after}&limit=100", subscription.Secret);
        Assert.Equal(200, status);
        return [.. body.GetProperty("deliveries").EnumerateArray()];
    }

    /// <summary>Polls the delivery log until <paramref name="done"/> holds.</summary>
    public static async Task<JsonElement[]> WaitForDeliveries(this IAlbaHost host, Subscription subscription, Func<JsonElement[], bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var deliveries = await host.Deliveries(subscription);
            if (done(deliveries)) return deliveries;
            if (DateTime.UtcNow > deadline)
                Assert.Fail("Timed out waiting on the delivery log: " + string.Join("; ", deliveries.Select(d => d.ToString())));
            await Task.Delay(50);
        }
    }

    public static string State(this JsonElement delivery) => delivery.GetProperty("state").GetString()!;
}
