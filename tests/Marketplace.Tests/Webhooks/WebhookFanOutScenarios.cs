using Marketplace.Signing;
using Marketplace.Tests.Support;
using Marketplace.Webhooks;
using static Marketplace.Tests.Webhooks.WebhookClient;

namespace Marketplace.Tests.Webhooks;

/// <summary>Fan-out limits: registry-wide download events only for allowed keys, and the per-key cap under concurrency.</summary>
[Collection("webhooks")]
public sealed class WebhookFanOutScenarios(WebhookFixture fixture)
{
    private Alba.IAlbaHost Host => fixture.Host;

    [Fact]
    public async Task registry_wide_download_events_are_refused_unless_the_operator_allowed_the_key()
    {
        var fresh = StatementSigner.Generate();
        var url = "http://127.0.0.1:9/fan-out";
        var events = await fixture.EventCountAsync();

        var (status, code, _) = await Host.Post(fresh, Create(new WebhookScope("registry"), url, [DownloadedType]));
        Assert.Equal((403, "download-events-not-allowed"), (status, code));
        (status, code, _) = await Host.Post(fresh, Create(new WebhookScope("registry"), url, [PublishedType, DownloadedType]));
        Assert.Equal((403, "download-events-not-allowed"), (status, code));
        Assert.Equal(events, await fixture.EventCountAsync());

        // Registry-wide without downloads is fine; turning downloads on later is refused the same way.
        var everything = await Host.Subscribe(fresh, new WebhookScope("registry"), url);
        (status, code, _) = await Host.Post(fresh, Update(everything.Id, eventTypes: [DownloadedType]));
        Assert.Equal((403, "download-events-not-allowed"), (status, code));

        // Downloads of the key's own packages need no allowance; the operator's key may have every download.
        var p = await Host.PublishedPackage(owner: fresh);
        await Host.Subscribe(fresh, new WebhookScope("package", p.Name), url, [DownloadedType]);
        var allowed = await Host.Subscribe(WebhookFixture.DownloadsKey, new WebhookScope("registry"), url + "?allowed", [DownloadedType]);
        Assert.Equal([DownloadedType], allowed.Created.GetProperty("eventTypes").EnumerateArray().Select(e => e.GetString()));
        await Host.Post(WebhookFixture.DownloadsKey, Remove(allowed.Id));
    }

    [Fact]
    public async Task concurrent_creations_by_one_key_never_pass_the_per_key_cap()
    {
        var key = StatementSigner.Generate();
        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            Host.Post(key, Create(new WebhookScope("registry"), $"http://127.0.0.1:9/cap/{i}"))));

        Assert.Equal(3, answers.Count(a => a.Status == 201));
        Assert.All(answers.Where(a => a.Status != 201), a => Assert.Equal((409, "subscription-limit"), (a.Status, a.Code)));

        // Removing one frees its slot for exactly one more.
        var first = Guid.Parse(answers.First(a => a.Status == 201).Body.GetProperty("id").GetString()!);
        Assert.Equal(200, (await Host.Post(key, Remove(first))).Status);
        var again = await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
            Host.Post(key, Create(new WebhookScope("registry"), $"http://127.0.0.1:9/cap/again/{i}"))));
        Assert.Equal(1, again.Count(a => a.Status == 201));
    }
}
