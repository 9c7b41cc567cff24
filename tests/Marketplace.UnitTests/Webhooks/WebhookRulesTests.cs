using System.Collections.Immutable;
using Marketplace.Packages;
using Marketplace.Webhooks;

namespace Marketplace.UnitTests.Webhooks;

public sealed class WebhookRulesTests
{
    private static readonly IReadOnlySet<string> Known = new HashSet<string> { "dev.marketplace.package.published", "dev.marketplace.version.yanked", "dev.marketplace.package.downloaded" };
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private const string KeyA = "ed25519:0123456789abcdef0123456789abcdef";
    private const string KeyB = "ed25519:fedcba9876543210fedcba9876543210";

    [Theory]
    [InlineData("https://hooks.example.com/in", null)]
    [InlineData("https://hooks.example.com:8443/in?token=x", null)]
    [InlineData("https://8.8.8.8/in", null)]
    [InlineData("http://hooks.example.com/in", "invalid-url")]
    [InlineData("ftp://hooks.example.com/in", "invalid-url")]
    [InlineData("hooks.example.com/in", "invalid-url")]
    [InlineData("https://user:pw@hooks.example.com/in", "invalid-url")]
    [InlineData("https://hooks.example.com/in#frag", "invalid-url")]
    [InlineData("https://127.0.0.1/in", "invalid-url")]
    [InlineData("https://0x7f000001/in", "invalid-url")]
    [InlineData("https://2130706433/in", "invalid-url")]
    [InlineData("https://10.1.2.3/in", "invalid-url")]
    [InlineData("https://169.254.169.254/latest/meta-data", "invalid-url")]
    [InlineData("https://[::1]/in", "invalid-url")]
    [InlineData("https://[::ffff:127.0.0.1]/in", "invalid-url")]
    [InlineData("https://[fd00:ec2::254]/in", "invalid-url")]
    [InlineData("https://localhost/in", "invalid-url")]
    [InlineData("https://api.localhost/in", "invalid-url")]
    [InlineData("https://intranet/in", "invalid-url")]
    // Spellings of the same hosts: the root's trailing dot, IDNA full-width digits and dots, case.
    [InlineData("https://127.0.0.1.:8443/in", "invalid-url")]
    [InlineData("https://169.254.169.254./latest/meta-data/", "invalid-url")]
    [InlineData("https://app.localhost.:8443/in", "invalid-url")]
    [InlineData("https://localhost./in", "invalid-url")]
    [InlineData("https://metadata.google.internal./", "invalid-url")]
    [InlineData("https://METADATA.Google.Internal/", "invalid-url")]
    [InlineData("https://\uFF11\uFF12\uFF17.\uFF10.\uFF10.\uFF11/", "invalid-url")]
    [InlineData("https://\uFF11\uFF12\uFF17\uFF0E\uFF10\uFF0E\uFF10\uFF0E\uFF11/", "invalid-url")]
    [InlineData("https://metadata.google\uFF0Einternal/", "invalid-url")]
    [InlineData("https://metadata.google\u3002internal/", "invalid-url")]
    [InlineData("https://\uFF4C\uFF4F\uFF43\uFF41\uFF4C\uFF48\uFF4F\uFF53\uFF54/in", "invalid-url")]
    [InlineData("https://127.1./in", "invalid-url")]
    [InlineData("https://hooks.example.1/in", "invalid-url")]
    [InlineData("https://intranet./in", "invalid-url")]
    [InlineData("https://[::ffff:a9fe:a9fe]/latest/meta-data/", "invalid-url")]
    [InlineData("https://hooks.example.com./in", null)]
    [InlineData("https://\uFF48\uFF4F\uFF4F\uFF4B\uFF53.example.com/in", null)]
    [InlineData("", "invalid-url")]
    public void urls_are_https_to_public_hosts_unless_private_networks_are_allowed(string url, string? code)
    {
        var outcome = WebhookRules.ValidateUrl(url, allowPrivateNetworks: false, maxLength: 2048);
        Assert.Equal(code, outcome.Error?.Code);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5000/in")]
    [InlineData("http://localhost:5000/in")]
    [InlineData("https://10.1.2.3/in")]
    public void with_private_networks_allowed_local_receivers_are_accepted(string url) =>
        Assert.Null(WebhookRules.ValidateUrl(url, allowPrivateNetworks: true, maxLength: 2048).Error);

    [Fact]
    public void a_url_longer_than_the_limit_is_refused_and_events_carry_only_its_origin_and_digest()
    {
        Assert.Equal("invalid-url", WebhookRules.ValidateUrl("https://hooks.example.com/" + new string('a', 100), false, 64).Error?.Code);
        var url = WebhookRules.ValidateUrl("https://Hooks.Example.com/in?token=secret", false, 2048).Value!;
        Assert.Equal("https://hooks.example.com", url.Origin);
        Assert.Equal(64, url.Sha256.Length);
        Assert.DoesNotContain("secret", url.Origin, StringComparison.Ordinal);
    }

    [Fact]
    public void event_types_must_be_known_and_distinct_and_are_kept_sorted()
    {
        Assert.Equal("unknown-event-type", WebhookRules.ValidateEventTypes(["dev.marketplace.nope"], Known).Error?.Code);
        Assert.Equal("invalid-statement", WebhookRules.ValidateEventTypes(["dev.marketplace.version.yanked", "dev.marketplace.version.yanked"], Known).Error?.Code);
        Assert.Equal(["dev.marketplace.package.published", "dev.marketplace.version.yanked"],
            WebhookRules.ValidateEventTypes(["dev.marketplace.version.yanked", "dev.marketplace.package.published"], Known).Value);
    }

    [Theory]
    [InlineData("create", "{\"kind\":\"package\",\"name\":\"left_pad\"}", null, null, null, null)]
    [InlineData("create", "{\"kind\":\"owner\",\"keyId\":\"" + KeyA + "\"}", null, null, null, null)]
    [InlineData("create", "{\"kind\":\"registry\"}", null, null, null, null)]
    [InlineData("create", "{\"kind\":\"registry\"}", "0190a5b2-7c1d-7e3f-9a4b-1c2d3e4f5a6b", null, null, "invalid-statement")]
    [InlineData("create", null, null, null, null, "invalid-statement")]
    [InlineData("create", "{\"kind\":\"galaxy\"}", null, null, null, "invalid-statement")]
    [InlineData("create", "{\"kind\":\"owner\",\"keyId\":\"ed25519:XYZ\"}", null, null, null, "invalid-statement")]
    [InlineData("create", "{\"kind\":\"package\",\"name\":\"9lives\"}", null, null, null, "invalid-name")]
    [InlineData("update", null, "0190a5b2-7c1d-7e3f-9a4b-1c2d3e4f5a6b", null, null, null)]
    [InlineData("update", null, "not-a-uuid", null, null, "invalid-statement")]
    [InlineData("update", "{\"kind\":\"registry\"}", "0190a5b2-7c1d-7e3f-9a4b-1c2d3e4f5a6b", null, null, "invalid-statement")]
    [InlineData("remove", null, "0190a5b2-7c1d-7e3f-9a4b-1c2d3e4f5a6b", null, null, "invalid-statement")]
    [InlineData("redeliver", null, "0190a5b2-7c1d-7e3f-9a4b-1c2d3e4f5a6b", "0190a5b2-7c1d-7e3f-9a4b-1c2d3e4f5a6c", null, null)]
    [InlineData("redeliver", null, "0190a5b2-7c1d-7e3f-9a4b-1c2d3e4f5a6b", null, 12L, null)]
    [InlineData("redeliver", null, "0190a5b2-7c1d-7e3f-9a4b-1c2d3e4f5a6b", "0190a5b2-7c1d-7e3f-9a4b-1c2d3e4f5a6c", 12L, "invalid-statement")]
    [InlineData("redeliver", null, "0190a5b2-7c1d-7e3f-9a4b-1c2d3e4f5a6b", null, -1L, "invalid-statement")]
    [InlineData("ping", null, null, null, null, "invalid-statement")]
    public void each_action_takes_its_own_fields(string action, string? scopeJson, string? id, string? deliveryId, long? fromSequence, string? code)
    {
        var scope = scopeJson is null ? null : System.Text.Json.JsonSerializer.Deserialize<WebhookScope>(scopeJson, Marketplace.Signing.StatementJson.Options);
        var url = action is "create" or "update" ? "https://hooks.example.com/in" : null;
        var statement = new WebhookStatement(action, Now, id, scope, url, null, deliveryId, fromSequence);
        if (action == "remove") statement = statement with { Url = "https://hooks.example.com/in" };
        Assert.Equal(code, WebhookRules.Validate(statement, Known, false, 2048).Error?.Code);
    }

    [Fact]
    public void create_needs_an_owner_of_the_package_the_owner_key_itself_or_any_key_for_the_registry()
    {
        var package = new PackageState("left-pad", "left-pad", ImmutableDictionary<string, PublishedVersion>.Empty, ImmutableDictionary<string, string>.Empty.Add(KeyA, "x"));
        var url = WebhookRules.ValidateUrl("https://hooks.example.com/in", false, 2048).Value!;
        WebhookDecider.Create Create(WebhookScope scope, string key) => new(Guid.CreateVersion7(), scope, url, [], key);

        Assert.Null(WebhookDecider.Decide(package, Create(new WebhookScope("package", "left-pad"), KeyA), 0, 5, Now).Error);
        Assert.Equal("not-owner", WebhookDecider.Decide(package, Create(new WebhookScope("package", "left-pad"), KeyB), 0, 5, Now).Error?.Code);
        Assert.Equal("not-found", WebhookDecider.Decide(null, Create(new WebhookScope("package", "left-pad"), KeyA), 0, 5, Now).Error?.Code);
        Assert.Null(WebhookDecider.Decide(null, Create(new WebhookScope("owner", KeyId: KeyB), KeyB), 0, 5, Now).Error);
        Assert.Equal("not-owner", WebhookDecider.Decide(null, Create(new WebhookScope("owner", KeyId: KeyB), KeyA), 0, 5, Now).Error?.Code);
        Assert.Null(WebhookDecider.Decide(null, Create(new WebhookScope("registry"), KeyB), 4, 5, Now).Error);
        Assert.Equal("subscription-limit", WebhookDecider.Decide(null, Create(new WebhookScope("registry"), KeyB), 5, 5, Now).Error?.Code);

        var created = (WebhookCreated)WebhookDecider.Decide(package, Create(new WebhookScope("package", "left-pad"), KeyA), 0, 5, Now).Value![0];
        Assert.Equal("https://hooks.example.com", created.UrlOrigin);
    }

    [Fact]
    public void only_the_creator_or_for_a_package_scope_a_current_owner_manages_a_subscription()
    {
        var id = Guid.CreateVersion7();
        var url = WebhookRules.ValidateUrl("https://hooks.example.com/in", false, 2048).Value!;
        var state = WebhookState.Evolve(null, new WebhookCreated(id, new WebhookScope("package", "left-pad"), url.Origin, url.Sha256, [], KeyA, Now))!;
        var package = new PackageState("left-pad", "left-pad", ImmutableDictionary<string, PublishedVersion>.Empty, ImmutableDictionary<string, string>.Empty.Add(KeyB, "y"));

        Assert.Null(WebhookDecider.MayManage(state, null, id, KeyA));
        Assert.Equal("not-owner", WebhookDecider.MayManage(state, null, id, KeyB)?.Code);
        Assert.Null(WebhookDecider.MayManage(state, package, id, KeyB));
        Assert.Equal("not-found", WebhookDecider.MayManage(null, null, id, KeyA)?.Code);

        var removed = WebhookState.Evolve(state, WebhookDecider.Decide(state, null, id, new WebhookDecider.Remove(KeyA), Now).Value![0])!;
        Assert.Equal(WebhookState.Removed, removed.Status);
        Assert.Equal("not-found", WebhookDecider.MayManage(removed, null, id, KeyA)?.Code);

        var disabled = WebhookState.Evolve(state, new WebhookDisabled(id, 410, "gone", Now))!;
        Assert.Equal(WebhookState.Disabled, disabled.Status);
        Assert.Empty(WebhookDecider.Decide(state, null, id, new WebhookDecider.Update(url, [], KeyA), Now).Value!);
        var reenabled = WebhookDecider.Decide(disabled, null, id, new WebhookDecider.Update(url, [], KeyA), Now).Value!;
        Assert.Equal(WebhookState.Active, WebhookState.Evolve(disabled, Assert.Single(reenabled))!.Status);
    }
}
