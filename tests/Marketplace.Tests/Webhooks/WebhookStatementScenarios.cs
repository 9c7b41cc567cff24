using Marketplace.Functions.Events;
using Marketplace.Functions.Webhooks;
using Marketplace.Signing;
using Marketplace.Tests.Support;
using Marketplace.Webhooks;
using Marten;
using static Marketplace.Tests.Support.Packages;
using static Marketplace.Tests.Webhooks.WebhookClient;

namespace Marketplace.Tests.Webhooks;

/// <summary>Subscriptions by signed statements: who may do what, what is refused, and where the secret is (not) shown.</summary>
[Collection("webhooks")]
public sealed class WebhookStatementScenarios(WebhookFixture fixture)
{
    private Alba.IAlbaHost Host => fixture.Host;

    [Fact]
    public async Task refused_statements_answer_problem_codes_and_write_nothing()
    {
        var p = await Host.PublishedPackage();
        var stranger = StatementSigner.Generate();
        var url = "http://127.0.0.1:9/hook";
        var sub = await Host.Subscribe(p.Owner, new WebhookScope("package", p.Name), url);
        var replayed = Body(p.Owner, Create(new WebhookScope("package", p.Name), url));
        await Host.GetJsonFromPost("/v1/webhooks", replayed, 201);
        var limited = StatementSigner.Generate();
        for (var i = 0; i < 3; i++) await Host.Subscribe(limited, new WebhookScope("registry"), url);

        var events = await fixture.EventCountAsync();
        var endpoints = await EndpointCount();
        var cases = new (StatementSigner Signer, object Body, int Status, string Code)[]
        {
            (stranger, Body(stranger, Create(new WebhookScope("package", p.Name), url)), 403, "not-owner"),
            (stranger, Body(stranger, Create(new WebhookScope("owner", KeyId: p.Owner.Owner.KeyId), url)), 403, "not-owner"),
            (stranger, Body(stranger, Create(new WebhookScope("package", UniqueName()), url)), 404, "not-found"),
            (p.Owner, Body(p.Owner, Create(new WebhookScope("package", p.Name), url, issuedAt: DateTimeOffset.UtcNow.AddMinutes(-6))), 400, "stale-statement"),
            (p.Owner, replayed, 409, "replayed-statement"),
            (p.Owner, Body(p.Owner, Create(new WebhookScope("package", p.Name), "ftp://example.com/hook")), 400, "invalid-url"),
            (p.Owner, Body(p.Owner, Create(new WebhookScope("package", p.Name), "http://127.0.0.1/" + new string('a', 2100))), 400, "invalid-url"),
            (p.Owner, Body(p.Owner, Create(new WebhookScope("package", p.Name), url, ["dev.marketplace.package.exploded"])), 400, "unknown-event-type"),
            (p.Owner, Body(p.Owner, Create(new WebhookScope("galaxy"), url)), 400, "invalid-statement"),
            (limited, Body(limited, Create(new WebhookScope("registry"), url)), 409, "subscription-limit"),
            (stranger, Body(stranger, Update(sub.Id, url: url + "2")), 403, "not-owner"),
            (stranger, Body(stranger, Remove(sub.Id)), 403, "not-owner"),
            (p.Owner, Body(p.Owner, Remove(Guid.CreateVersion7())), 404, "not-found"),
            (p.Owner, new { envelope = p.Owner.Sign(PayloadTypes.Owners, Create(new WebhookScope("registry"), url)), publicKey = p.Owner.Owner.PublicKey }, 400, "invalid-envelope"),
            (p.Owner, new { envelope = p.Owner.Sign(PayloadTypes.Webhook, Create(new WebhookScope("registry"), url)), publicKey = stranger.Owner.PublicKey }, 400, "bad-signature"),
        };
        foreach (var (_, body, status, code) in cases)
        {
            var (actual, actualCode, problem) = await Host.Send(s => s.Post.Json(body).ToUrl("/v1/webhooks"));
            Assert.True((status, code) == (actual, actualCode), $"expected {status} {code}, got {actual} {actualCode}: {problem}");
            Assert.Equal($"urn:marketplace:problem:{code}", problem.GetProperty("type").GetString());
        }
        Assert.Equal(events, await fixture.EventCountAsync());
        Assert.Equal(endpoints, await EndpointCount());
    }

    [Fact]
    public async Task a_current_owner_manages_a_package_subscription_and_removal_ends_it()
    {
        var p = await Host.PublishedPackage();
        var coOwner = StatementSigner.Generate();
        await Host.Scenario(s => { s.Post.Json(OwnersBody(p.Owner, "add", p.Name, coOwner.Owner)).ToUrl($"/v1/packages/{p.Name}/owners"); s.StatusCodeShouldBe(200); });
        var sub = await Host.Subscribe(p.Owner, new WebhookScope("package", p.Name), "http://127.0.0.1:9/a");

        var (status, _, updated) = await Host.Post(coOwner, Update(sub.Id, url: "http://127.0.0.1:9/b", eventTypes: [YankedType, PublishedType]));
        Assert.Equal(200, status);
        Assert.Equal("http://127.0.0.1:9/b", updated.GetProperty("url").GetString());
        Assert.Equal([PublishedType, YankedType], updated.GetProperty("eventTypes").EnumerateArray().Select(t => t.GetString()));

        (status, _, var removed) = await Host.Post(coOwner, Remove(sub.Id));
        Assert.Equal(200, status);
        Assert.Equal("removed", removed.GetProperty("status").GetString());
        var (code404, code, _) = await Host.GetAuthorized($"/v1/webhooks/{sub.Id:D}", sub.Secret);
        Assert.Equal((404, "not-found"), (code404, code));
        (status, code, _) = await Host.Post(p.Owner, Update(sub.Id, url: "http://127.0.0.1:9/c"));
        Assert.Equal((404, "not-found"), (status, code));
    }

    [Fact]
    public async Task the_secret_is_shown_once_reads_need_it_and_no_event_carries_it_or_the_url()
    {
        var p = await Host.PublishedPackage();
        var url = "http://127.0.0.1:9/hook?token=receiver-private-token";
        var sub = await Host.Subscribe(p.Owner, new WebhookScope("package", p.Name), url, [PublishedType]);
        Assert.Equal(url, sub.Created.GetProperty("url").GetString());

        var (status, _, view) = await Host.GetAuthorized($"/v1/webhooks/{sub.Id:D}", sub.Secret);
        Assert.Equal(200, status);
        Assert.False(view.TryGetProperty("secret", out _));
        Assert.DoesNotContain(sub.Secret, view.ToString(), StringComparison.Ordinal);
        Assert.Equal(url, view.GetProperty("url").GetString());
        Assert.Equal("package", view.GetProperty("scope").GetProperty("kind").GetString());

        var (unauthorized, code, _) = await Host.GetAuthorized($"/v1/webhooks/{sub.Id:D}", null);
        Assert.Equal((401, "unauthorized"), (unauthorized, code));
        (unauthorized, code, _) = await Host.GetAuthorized($"/v1/webhooks/{sub.Id:D}", Tampered(sub.Secret));
        Assert.NotEqual(sub.Secret, Tampered(sub.Secret));
        Assert.Equal((401, "unauthorized"), (unauthorized, code));
        (unauthorized, code, _) = await Host.GetAuthorized($"/v1/webhooks/{sub.Id:D}/deliveries", null);
        Assert.Equal((401, "unauthorized"), (unauthorized, code));
        (status, code, _) = await Host.GetAuthorized($"/v1/webhooks/{Guid.CreateVersion7():D}", sub.Secret);
        Assert.Equal((404, "not-found"), (status, code));
        (status, code, _) = await Host.GetAuthorized($"/v1/webhooks/{sub.Id:D}/deliveries?limit=500", sub.Secret);
        Assert.Equal((400, "invalid-query"), (status, code));
        var challenge = await Host.Scenario(s => { s.Get.Url($"/v1/webhooks/{sub.Id:D}"); s.StatusCodeShouldBe(401); });
        Assert.StartsWith("Bearer", challenge.Context.Response.Headers.WWWAuthenticate.ToString(), StringComparison.Ordinal);

        // The public feed and every event's CloudEvent bytes (what the transparency log hashes).
        await fixture.WaitForProjectionsAsync();
        var feed = await Host.Scenario(s => s.Get.Url("/v1/events?after=0&limit=1000"));
        var text = await feed.ReadAsTextAsync();
        Assert.Contains(sub.Id.ToString("D"), text, StringComparison.Ordinal);
        Assert.Contains("dev.marketplace.webhook.created", text, StringComparison.Ordinal);
        await using var session = fixture.Store.QuerySession();
        var all = await session.Events.QueryAllRawEvents().ToListAsync();
        var serialized = string.Join("\n", all.Where(e => RegistryCloudEvents.IsMapped(e.EventType)).Select(e => System.Text.Encoding.UTF8.GetString(RegistryCloudEvents.Serialize(e))));
        foreach (var haystack in new[] { text, serialized })
        {
            Assert.DoesNotContain(sub.Secret, haystack, StringComparison.Ordinal);
            Assert.DoesNotContain(sub.Secret["whsec_".Length..], haystack, StringComparison.Ordinal);
            Assert.DoesNotContain("receiver-private-token", haystack, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task a_subscription_change_is_a_leaf_of_the_transparency_log()
    {
        var p = await Host.PublishedPackage();
        var sub = await Host.Subscribe(p.Owner, new WebhookScope("package", p.Name), "http://127.0.0.1:9/hook");
        var sequence = sub.Created.GetProperty("sequence").GetInt64();
        await fixture.WaitForProjectionsAsync();

        var proof = await Host.GetJson($"/v1/log/proof/inclusion?sequence={sequence}");
        var feed = await Host.Scenario(s => s.Get.Url($"/v1/events?after={sequence - 1}&limit=1"));
        var line = (await feed.ReadAsTextAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Single();
        Assert.Contains($"\"source\":\"/webhooks/{sub.Id:D}\"", line, StringComparison.Ordinal);
        byte[] leaf = [0x00, .. System.Text.Encoding.UTF8.GetBytes(line)];
        Assert.Equal(Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(leaf)), proof.GetProperty("leafHash").GetString());
    }

    private async Task<int> EndpointCount()
    {
        await using var session = fixture.Store.QuerySession();
        return await session.Query<WebhookEndpoint>().CountAsync();
    }

    /// <summary>The secret with one character before its padding changed to another: always a different secret.</summary>
    private static string Tampered(string secret)
    {
        var i = secret.TrimEnd('=').Length - 2;
        return secret[..i] + (secret[i] == 'A' ? 'B' : 'A') + secret[(i + 1)..];
    }
}
