using System.Text.Json;
using Marketplace.Signing;
using Marketplace.Tests.Support;
using Marketplace.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using static Marketplace.Tests.Support.Packages;
using static Marketplace.Tests.Webhooks.WebhookClient;

namespace Marketplace.Tests.Webhooks;

/// <summary>Deliveries to real receivers on loopback (private networks allowed), checked as a receiver would check them.</summary>
[Collection("webhooks")]
public sealed class WebhookDeliveryScenarios(WebhookFixture fixture)
{
    private Alba.IAlbaHost Host => fixture.Host;

    [Fact]
    public async Task a_package_subscription_gets_each_later_change_signed_as_a_cloudevent_and_downloads_only_when_listed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var p = await Host.PublishedPackage();
        var sub = await Host.Subscribe(p.Owner, new WebhookScope("package", p.Name), receiver.Url("/all"));
        var downloads = await Host.Subscribe(p.Owner, new WebhookScope("package", p.Name), receiver.Url("/downloads"), [DownloadedType]);
        Assert.Matches("^whsec_[A-Za-z0-9+/]{43}=$", sub.Secret);
        Assert.Equal(32, Convert.FromBase64String(sub.Secret[6..]).Length);
        Assert.Equal(7, sub.Id.Version);

        var second = StatementSigner.Generate();
        await Host.PublishedPackage(p.Name, "1.1.0", p.Owner);
        await Host.Scenario(s => { s.Post.Json(YankBody(p.Owner, "yank", p.Name, "1.0.0")).ToUrl($"/v1/packages/{p.Name}/1.0.0/yank"); s.StatusCodeShouldBe(200); });
        await Host.DownloadAsync(p.Name, "1.1.0");
        await Host.Scenario(s => { s.Post.Json(OwnersBody(p.Owner, "add", p.Name, second.Owner)).ToUrl($"/v1/packages/{p.Name}/owners"); s.StatusCodeShouldBe(200); });

        var received = await receiver.WaitFor(r => r.Count(x => x.Path == "/all") >= 3 && r.Any(x => x.Path == "/downloads"));
        var registryKey = await Host.RegistryPublicKey();
        var events = received.Where(r => r.Path == "/all").Select(r => StandardWebhooksVerifier.Verify(r, sub.Secret, registryKey)).ToList();
        Assert.Equal(["dev.marketplace.package.published", "dev.marketplace.version.yanked", "dev.marketplace.owner.added"], events.Select(e => e.Type));
        Assert.All(events, e => Assert.Equal($"/packages/{p.Name}", e.Source!.ToString()));
        Assert.Equal($"{p.Name}@1.1.0", events[0].Subject);
        var sequences = events.Select(StandardWebhooksVerifier.SequenceOf).ToList();
        Assert.Equal(sequences.Order(), sequences);
        Assert.True(sequences[0] > p.Sequence, "nothing committed before the subscription is delivered");
        Assert.Equal("1.1.0", ((JsonElement)events[0].Data!).GetProperty("version").GetString());

        var download = StandardWebhooksVerifier.Verify(Assert.Single(received, r => r.Path == "/downloads"), downloads.Secret, registryKey);
        Assert.Equal(DownloadedType, download.Type);
        Assert.DoesNotContain(received, r => r.Path == "/all" && StandardWebhooksVerifier.Verify(r, sub.Secret, registryKey).Type == DownloadedType);

        var log = await Host.WaitForDeliveries(sub, d => d.Length == 3 && d.All(x => x.State() == "succeeded"));
        Assert.Equal(received.Where(r => r.Path == "/all").Select(r => Guid.Parse(r.Id!)), log.Select(d => d.GetProperty("id").GetGuid()));
        Assert.All(log, d =>
        {
            var attempt = Assert.Single(d.GetProperty("attempts").EnumerateArray());
            Assert.Equal(200, attempt.GetProperty("status").GetInt32());
            Assert.True(attempt.GetProperty("latencyMs").GetDouble() >= 0);
            Assert.Equal(p.Name, d.GetProperty("package").GetString());
            Assert.Equal(JsonValueKind.Null, d.GetProperty("nextAttemptAt").ValueKind);
        });
    }

    [Fact]
    public async Task a_receiver_down_for_a_while_then_back_loses_no_event_and_gets_each_package_in_order()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var owner = StatementSigner.Generate();
        var a = await Host.PublishedPackage(owner: owner);
        var b = await Host.PublishedPackage(owner: owner);
        var sub = await Host.Subscribe(owner, new WebhookScope("owner", KeyId: owner.Owner.KeyId), receiver.Url(), [PublishedType]);

        await receiver.StopAsync();
        for (var i = 1; i <= 4; i++)
        {
            await Host.PublishedPackage(a.Name, $"1.0.{i}", owner);
            await Host.PublishedPackage(b.Name, $"1.0.{i}", owner);
        }
        await Host.WaitForDeliveries(sub, d => d.Length == 8 && d.Count(x => x.State() == "failed") >= 2);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Empty(receiver.Received);
        await receiver.StartAgainAsync();

        var received = await receiver.WaitFor(r => r.Where(x => x.Answered == 200).Select(x => x.Id).Distinct().Count() == 8, TimeSpan.FromSeconds(30));
        var registryKey = await Host.RegistryPublicKey();
        var delivered = received.Select(r => StandardWebhooksVerifier.Verify(r, sub.Secret, registryKey)).ToList();
        foreach (var package in new[] { a.Name, b.Name })
        {
            var mine = delivered.Where(e => e.Source!.ToString() == "/packages/" + package).ToList();
            Assert.Equal(["1.0.1", "1.0.2", "1.0.3", "1.0.4"], mine.Select(e => ((JsonElement)e.Data!).GetProperty("version").GetString()).Distinct());
            var sequences = mine.Select(StandardWebhooksVerifier.SequenceOf).ToList();
            Assert.Equal(sequences.Order(), sequences);
        }
        var log = await Host.WaitForDeliveries(sub, d => d.Length == 8 && d.All(x => x.State() == "succeeded"));
        // While it was down only the first delivery of each package was tried: the later ones waited behind it.
        foreach (var package in new[] { a.Name, b.Name })
        {
            var mine = log.Where(d => d.GetProperty("package").GetString() == package).ToList();
            var head = mine[0].GetProperty("attempts").EnumerateArray().ToList();
            Assert.True(head.Count >= 2, "the first delivery failed while the receiver was down");
            Assert.Contains("refused", head[0].GetProperty("error").GetString(), StringComparison.OrdinalIgnoreCase);
            Assert.All(mine.Skip(1), d => Assert.Single(d.GetProperty("attempts").EnumerateArray()));
        }
    }

    [Fact]
    public async Task server_errors_are_retried_with_backoff_under_the_same_webhook_id_until_success()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = (_, seen) => new Reply(seen < 2 ? 500 : 200);
        var p = await Host.PublishedPackage();
        var sub = await Host.Subscribe(p.Owner, new WebhookScope("package", p.Name), receiver.Url());
        await Host.PublishedPackage(p.Name, "2.0.0", p.Owner);

        var received = await receiver.WaitFor(r => r.Any(x => x.Answered == 200));
        Assert.Equal([500, 500, 200], received.Select(r => r.Answered));
        Assert.Single(received.Select(r => r.Id).Distinct());
        var registryKey = await Host.RegistryPublicKey();
        Assert.All(received, r => StandardWebhooksVerifier.Verify(r, sub.Secret, registryKey));
        // The schedule's first waits are 100 and 200 ms, ±10 %.
        Assert.True(received[1].At - received[0].At >= TimeSpan.FromMilliseconds(90), $"first retry after {(received[1].At - received[0].At).TotalMilliseconds} ms");
        Assert.True(received[2].At - received[1].At >= TimeSpan.FromMilliseconds(180), $"second retry after {(received[2].At - received[1].At).TotalMilliseconds} ms");

        var log = await Host.WaitForDeliveries(sub, d => d.Length == 1 && d[0].State() == "succeeded");
        Assert.Equal([500, 500, 200], log[0].GetProperty("attempts").EnumerateArray().Select(a => a.GetProperty("status").GetInt32()));
        Assert.Equal("HTTP 500", log[0].GetProperty("attempts")[0].GetProperty("error").GetString());
    }

    [Fact]
    public async Task a_redirect_is_a_failed_attempt_and_is_never_followed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = (r, seen) => r.Path == "/hook" && seen == 0 ? new Reply(307, Location: receiver.Url("/elsewhere")) : new Reply(200);
        var p = await Host.PublishedPackage();
        var sub = await Host.Subscribe(p.Owner, new WebhookScope("package", p.Name), receiver.Url());
        await Host.PublishedPackage(p.Name, "2.0.0", p.Owner);

        var log = await Host.WaitForDeliveries(sub, d => d.Length == 1 && d[0].State() == "succeeded");
        var attempts = log[0].GetProperty("attempts").EnumerateArray().ToList();
        Assert.Equal([307, 200], attempts.Select(a => a.GetProperty("status").GetInt32()));
        Assert.Contains("not followed", attempts[0].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.All(receiver.Received, r => Assert.Equal("/hook", r.Path));
    }

    [Fact]
    public async Task too_many_requests_with_retry_after_waits_as_long_as_the_receiver_asks()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = (_, seen) => seen == 0 ? new Reply(429, RetryAfter: "1") : new Reply(200);
        var p = await Host.PublishedPackage();
        var sub = await Host.Subscribe(p.Owner, new WebhookScope("package", p.Name), receiver.Url());
        await Host.PublishedPackage(p.Name, "2.0.0", p.Owner);

        var received = await receiver.WaitFor(r => r.Any(x => x.Answered == 200));
        Assert.Equal([429, 200], received.Select(r => r.Answered));
        var gap = received[1].At - received[0].At;
        Assert.True(gap >= TimeSpan.FromSeconds(1), $"Retry-After: 1 honoured, not the 100 ms backoff (gap {gap.TotalMilliseconds} ms)");
        var log = await Host.WaitForDeliveries(sub, d => d.Length == 1 && d[0].State() == "succeeded");
        Assert.Equal(429, log[0].GetProperty("attempts")[0].GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task a_slow_receiver_times_out_and_the_delivery_is_tried_again()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = (_, seen) => seen == 0 ? new Reply(200, Delay: TimeSpan.FromSeconds(3)) : new Reply(200);
        var p = await Host.PublishedPackage();
        var sub = await Host.Subscribe(p.Owner, new WebhookScope("package", p.Name), receiver.Url());
        await Host.PublishedPackage(p.Name, "2.0.0", p.Owner);

        var log = await Host.WaitForDeliveries(sub, d => d.Length == 1 && d[0].State() == "succeeded");
        var attempts = log[0].GetProperty("attempts").EnumerateArray().ToList();
        Assert.Equal(2, attempts.Count);
        Assert.Equal(JsonValueKind.Null, attempts[0].GetProperty("status").ValueKind);
        Assert.Contains("timed out", attempts[0].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.InRange(attempts[0].GetProperty("latencyMs").GetDouble(), 900, 2500);
        Assert.Equal(200, attempts[1].GetProperty("status").GetInt32());
        Assert.Equal(2, receiver.Received.Count);
        Assert.Single(receiver.Received.Select(r => r.Id).Distinct());
    }

    [Fact]
    public async Task gone_disables_the_subscription_until_a_signed_update_enables_it_again()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = (_, _) => new Reply(410);
        var p = await Host.PublishedPackage();
        var sub = await Host.Subscribe(p.Owner, new WebhookScope("package", p.Name), receiver.Url());
        await Host.PublishedPackage(p.Name, "1.1.0", p.Owner);

        var first = Assert.Single(await receiver.WaitFor(r => r.Count >= 1));
        await WaitForStatus(sub, "disabled");
        var (_, _, view) = await Host.GetAuthorized($"/v1/webhooks/{sub.Id:D}", sub.Secret);
        Assert.Contains("410", view.GetProperty("disabledReason").GetString(), StringComparison.Ordinal);

        // Disabled: the receiver is not called again, whatever happens.
        await Host.PublishedPackage(p.Name, "1.2.0", p.Owner);
        await fixture.WaitForProjectionsAsync();
        await Task.Delay(500);
        Assert.Single(receiver.Received);

        receiver.Respond = (_, _) => new Reply(200);
        var (status, _, updated) = await Host.Post(p.Owner, Update(sub.Id, url: receiver.Url()));
        Assert.Equal(200, status);
        Assert.Equal("active", updated.GetProperty("status").GetString());
        var again = await receiver.WaitFor(r => r.Any(x => x.Answered == 200));
        Assert.Equal(first.Id, again[^1].Id);

        await Host.PublishedPackage(p.Name, "1.3.0", p.Owner);
        var later = await receiver.WaitFor(r => r.Count(x => x.Answered == 200) == 2);
        var registryKey = await Host.RegistryPublicKey();
        Assert.Equal("1.3.0", ((JsonElement)StandardWebhooksVerifier.Verify(later[^1], sub.Secret, registryKey).Data!).GetProperty("version").GetString());

        var feed = await Host.Scenario(s => s.Get.Url("/v1/events?after=0&limit=1000"));
        var lines = (await feed.ReadAsTextAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.Contains("dev.marketplace.webhook.disabled", StringComparison.Ordinal) && l.Contains(sub.Id.ToString("D"), StringComparison.Ordinal));
    }

    [Fact]
    public async Task one_delivery_or_every_delivery_from_a_log_position_is_sent_again_with_the_same_webhook_id()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var p = await Host.PublishedPackage();
        var sub = await Host.Subscribe(p.Owner, new WebhookScope("package", p.Name), receiver.Url());
        await Host.PublishedPackage(p.Name, "1.1.0", p.Owner);
        await Host.PublishedPackage(p.Name, "1.2.0", p.Owner);
        await Host.Scenario(s => { s.Post.Json(YankBody(p.Owner, "yank", p.Name, "1.1.0")).ToUrl($"/v1/packages/{p.Name}/1.1.0/yank"); s.StatusCodeShouldBe(200); });
        var log = await Host.WaitForDeliveries(sub, d => d.Length == 3 && d.All(x => x.State() == "succeeded"));
        var ids = log.Select(d => d.GetProperty("id").GetGuid()).ToList();

        var (status, _, one) = await Host.Post(p.Owner, Redeliver(sub.Id, deliveryId: ids[0]));
        Assert.Equal(200, status);
        Assert.Equal(1, one.GetProperty("requeued").GetInt32());
        await receiver.WaitFor(r => r.Count == 4);
        Assert.Equal(ids[0], Guid.Parse(receiver.Received[3].Id!));

        var from = log[1].GetProperty("sequence").GetInt64();
        (status, _, var many) = await Host.Post(p.Owner, Redeliver(sub.Id, fromSequence: from));
        Assert.Equal(200, status);
        Assert.Equal(2, many.GetProperty("requeued").GetInt32());
        var received = await receiver.WaitFor(r => r.Count == 6);
        Assert.Equal([ids[1], ids[2]], received.Skip(4).Select(r => Guid.Parse(r.Id!)));
        var registryKey = await Host.RegistryPublicKey();
        Assert.All(received, r => StandardWebhooksVerifier.Verify(r, sub.Secret, registryKey));
        log = await Host.WaitForDeliveries(sub, d => d.All(x => x.State() == "succeeded") && d[2].GetProperty("attempts").GetArrayLength() == 2);
        Assert.Equal([2, 2, 2], log.Select(d => d.GetProperty("attempts").GetArrayLength()));

        (status, var code, _) = await Host.Post(StatementSigner.Generate(), Redeliver(sub.Id, deliveryId: ids[0]));
        Assert.Equal((403, "not-owner"), (status, code));
        (status, code, _) = await Host.Post(p.Owner, Redeliver(sub.Id, deliveryId: Guid.CreateVersion7()));
        Assert.Equal((404, "not-found"), (status, code));
    }

    [Fact]
    public async Task with_private_networks_allowed_the_guard_lets_loopback_receivers_through()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var client = Host.Services.GetRequiredService<Marketplace.Functions.Webhooks.Delivering.WebhookSender>().Client;
        using var viaAddress = await client.PostAsync(receiver.Url(), new StringContent("{}"));
        using var viaName = await client.PostAsync($"http://localhost:{receiver.Port}/hook", new StringContent("{}"));
        Assert.Equal(System.Net.HttpStatusCode.OK, viaAddress.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, viaName.StatusCode);
        Assert.Equal(2, receiver.Received.Count);
    }

    private async Task WaitForStatus(Subscription sub, string status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var (_, _, body) = await Host.GetAuthorized($"/v1/webhooks/{sub.Id:D}", sub.Secret);
            if (body.GetProperty("status").GetString() == status) return;
            Assert.True(DateTime.UtcNow < deadline, $"subscription never became {status}");
            await Task.Delay(50);
        }
    }
}
