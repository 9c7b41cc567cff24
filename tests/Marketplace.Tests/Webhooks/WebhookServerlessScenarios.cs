using Marketplace.Functions.Serverless;
using Marketplace.Functions.Webhooks.Delivering;
using Marketplace.Tests.Support;
using Marketplace.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using static Marketplace.Tests.Webhooks.WebhookClient;

namespace Marketplace.Tests.Webhooks;

/// <summary>
/// The projections function with webhooks: no daemon and no dispatcher in-process, the schema from db-apply's code
/// (so the deliveries table must be part of it), the outbox run by the scheduled catch-up, sending by the dispatcher's
/// drain (what the scheduled run calls after its catch-up). Private networks allowed for the loopback receiver.
/// </summary>
public sealed class WebhookProjectionsFunctionFixture()
    : MarketplaceFixture(HostProfile.DeployedFunction(catchUpEndpoint: true).With(("Webhooks:AllowPrivateNetworks", "true")));

[CollectionDefinition("webhooks projections function")]
public sealed class WebhookProjectionsFunctionCollection : ICollectionFixture<WebhookProjectionsFunctionFixture>;

[Collection("webhooks projections function")]
public sealed class WebhookServerlessScenarios(WebhookProjectionsFunctionFixture fixture)
{
    private Alba.IAlbaHost Host => fixture.Host;

    [Fact]
    public async Task the_catch_up_queues_deliveries_and_a_drain_sends_them_in_order()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var p = await Host.PublishedPackage();
        var sub = await Host.Subscribe(p.Owner, new WebhookScope("package", p.Name), receiver.Url());
        await Host.PublishedPackage(p.Name, "1.1.0", p.Owner);
        await Host.PublishedPackage(p.Name, "1.2.0", p.Owner);

        Assert.Empty(await Host.Deliveries(sub));
        await Host.Scenario(s => { s.Post.Url(ProjectionCatchUp.Path); s.StatusCodeShouldBe(200); });
        Assert.Equal(2, (await Host.Deliveries(sub)).Length);

        // What the scheduled run does after its catch-up (a no-op if the catch-up already sent them).
        var summary = await Host.Services.GetRequiredService<WebhookDispatcher>().DrainAsync(TimeSpan.FromSeconds(20), CancellationToken.None);
        Assert.Equal(0, summary.Failed + summary.Dead);
        Assert.Equal(2, receiver.Received.Count);
        var registryKey = await Host.RegistryPublicKey();
        Assert.Equal(["1.1.0", "1.2.0"], receiver.Received.Select(r =>
            ((System.Text.Json.JsonElement)StandardWebhooksVerifier.Verify(r, sub.Secret, registryKey).Data!).GetProperty("version").GetString()));
        Assert.All(await Host.Deliveries(sub), d => Assert.Equal("succeeded", d.State()));
    }
}
