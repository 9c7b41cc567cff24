using Marketplace.Functions.Webhooks;
using Marketplace.Signing;
using Marketplace.Tests.Support;
using Marketplace.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using static Marketplace.Tests.Webhooks.WebhookClient;

namespace Marketplace.Tests.Webhooks;

/// <summary>
/// Receivers that take their time: an attempt timeout (10 s) longer than a slow receiver's 3 s, and the production
/// poll interval (1 s), so a prompt delivery is the dispatcher's doing, not a fast poll's.
/// </summary>
public sealed class SlowReceiverWebhookFixture() : MarketplaceFixture(HostProfile.Default.With(
    ("Webhooks:AllowPrivateNetworks", "true"),
    ("Webhooks:RetrySchedule", WebhookFixture.Schedule),
    ("Webhooks:Timeout", "00:00:10"),
    ("Webhooks:PollInterval", "00:00:01")));

[CollectionDefinition("webhooks slow receivers")]
public sealed class SlowReceiverWebhookCollection : ICollectionFixture<SlowReceiverWebhookFixture>;

/// <summary>Chains proceed independently: a slow receiver delays only its own (subscription, package) chain.</summary>
[Collection("webhooks slow receivers")]
public sealed class WebhookChainScenarios(SlowReceiverWebhookFixture fixture)
{
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(3);

    private Alba.IAlbaHost Host => fixture.Host;

    /// <summary>Three deliveries queued to a receiver that takes 3 s over each; returns once the first is being answered.</summary>
    private async Task<(WebhookReceiver Receiver, Subscription Subscription)> BusySlowChainAsync()
    {
        var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = (_, _) => new Reply(200, Delay: Slow);
        var owner = StatementSigner.Generate();
        var p = await Host.PublishedPackage(owner: owner);
        var sub = await Host.Subscribe(owner, new WebhookScope("package", p.Name), receiver.Url("/slow"));
        for (var i = 1; i <= 3; i++) await Host.PublishedPackage(p.Name, $"1.0.{i}", owner);
        await receiver.WaitFor(r => r.Count >= 1, TimeSpan.FromSeconds(15), "the slow receiver's first request");
        return (receiver, sub);
    }

    [Fact]
    public async Task a_receiver_taking_three_seconds_does_not_hold_back_another_packages_delivery()
    {
        var (slow, slowSub) = await BusySlowChainAsync();
        await using var _ = slow;
        await using var fast = await WebhookReceiver.StartAsync();
        var owner = StatementSigner.Generate();
        var q = await Host.PublishedPackage(owner: owner);
        await Host.Subscribe(owner, new WebhookScope("package", q.Name), fast.Url("/fast"));

        var committed = DateTimeOffset.UtcNow;
        await Host.PublishedPackage(q.Name, "2.0.0", owner);
        var received = await fast.WaitFor(r => r.Count >= 1, TimeSpan.FromSeconds(20), "the other package's delivery");
        var waited = received[0].At - committed;
        Assert.True(waited < TimeSpan.FromSeconds(2), $"the other package's event waited {waited.TotalMilliseconds:F0} ms behind a 3 s receiver");
        Assert.True(slow.Received.Count < 3, "the slow chain was still being sent when the other delivery arrived");

        // The slow chain itself is untouched: all three, once each, in log order.
        var log = await Host.WaitForDeliveries(slowSub, d => d.Length == 3 && d.All(x => x.State() == "succeeded"), TimeSpan.FromSeconds(30));
        Assert.Equal(log.Select(d => d.GetProperty("id").GetGuid()), slow.Received.Select(r => Guid.Parse(r.Id!)));
    }

    [Fact]
    public async Task a_retry_after_of_two_seconds_is_honoured_within_a_second_of_due_while_another_receiver_is_slow()
    {
        var (slow, slowSub) = await BusySlowChainAsync();
        await using var _ = slow;
        await using var limited = await WebhookReceiver.StartAsync();
        limited.Respond = (_, seen) => seen == 0 ? new Reply(429, RetryAfter: "2") : new Reply(200);
        var owner = StatementSigner.Generate();
        var q = await Host.PublishedPackage(owner: owner);
        await Host.Subscribe(owner, new WebhookScope("package", q.Name), limited.Url("/limited"));
        await Host.PublishedPackage(q.Name, "2.0.0", owner);

        var received = await limited.WaitFor(r => r.Any(x => x.Answered == 200), TimeSpan.FromSeconds(20), "the retry");
        Assert.Equal([429, 200], received.Select(r => r.Answered));
        var gap = received[1].At - received[0].At;
        Assert.InRange(gap, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));
        await Host.WaitForDeliveries(slowSub, d => d.Length == 3 && d.All(x => x.State() == "succeeded"), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task two_dispatchers_claiming_at_once_never_hold_the_same_chain()
    {
        var deliveries = Host.Services.GetRequiredService<WebhookDeliveries>();
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = (_, _) => new Reply(503);
        var owner = StatementSigner.Generate();
        var packages = new List<string>();
        for (var i = 0; i < 4; i++) packages.Add((await Host.PublishedPackage(owner: owner)).Name);
        var sub = await Host.Subscribe(owner, new WebhookScope("owner", KeyId: owner.Owner.KeyId), receiver.Url("/claims"), [PublishedType]);
        foreach (var name in packages) await Host.PublishedPackage(name, "2.0.0", owner);
        await Host.WaitForDeliveries(sub, d => d.Length == 4);

        // Far in the future every chain is due and every lease the in-process dispatcher took has run out.
        var later = DateTimeOffset.UtcNow.AddDays(30);
        for (var round = 0; round < 10; round++)
        {
            var a = Guid.NewGuid();
            var b = Guid.NewGuid();
            var claims = await Task.WhenAll(
                deliveries.ClaimAsync(a, later.AddHours(round), TimeSpan.FromMinutes(5), 100, 10, [], CancellationToken.None),
                deliveries.ClaimAsync(b, later.AddHours(round), TimeSpan.FromMinutes(5), 100, 10, [], CancellationToken.None));
            var mine = claims.SelectMany(c => c).Where(c => c.SubscriptionId == sub.Id).Select(c => c.OrderKey).ToList();
            Assert.Equal(packages.Select(n => "/packages/" + n).Order(), mine.Order());
        }
    }
}
