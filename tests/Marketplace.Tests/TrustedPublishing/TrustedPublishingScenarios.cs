using System.Text.Json;
using Marketplace.Signing;
using Marketplace.Tests.Support;
using TestPackages = Marketplace.Tests.Support.Packages;
using Marketplace.TrustedPublishing;

namespace Marketplace.Tests.TrustedPublishing;

/// <summary>
/// Trusted publishing end to end on the real pipeline: owners name a workflow, the workflow's ID token (minted by a local
/// issuer) is exchanged for a certificate of an ephemeral key, the key publishes; and every fault is refused with its code
/// and writes nothing.
/// </summary>
[Collection("trusted publishing")]
public sealed class TrustedPublishingScenarios(TrustedPublishingFixture fixture)
{
    private const string Repository = "octo-org/widgets";
    private const string Workflow = "release.yml";

    /// <summary>A published package whose owner named the GitHub workflow (optionally with an environment).</summary>
    private async Task<(string Name, StatementSigner Owner)> TrustedPackageAsync(string? environment = null)
    {
        var published = await fixture.Host.PublishedPackage(TestPackages.UniqueName("tp"));
        var (status, code, _) = await fixture.Host.ChangeAsync(published.Name,
            TrustedRequests.Statement(published.Owner, "add", published.Name, fixture.GitHub.Issuer, Repository, Workflow, environment));
        Assert.True(status == 200, $"adding a trusted publisher: {status} {code}");
        return (published.Name, published.Owner);
    }

    private async Task<(DsseEnvelope Certificate, StatementSigner Ephemeral)> ExchangedAsync(string name, Dictionary<string, object?>? claims = null, string alg = "RS256")
    {
        var ephemeral = StatementSigner.Generate();
        var token = fixture.GitHub.Mint(claims ?? fixture.GitHub.GitHubClaims(TrustedPublishingFixture.Audience), alg);
        var (status, code, body) = await fixture.Host.ExchangeAsync(token, name, ephemeral.Owner);
        Assert.True(status == 201, $"exchange: {status} {code} {body}");
        return (body.GetProperty("certificate").Deserialize<DsseEnvelope>(TestPackages.Json)!, ephemeral);
    }

    [Fact]
    public async Task a_workflow_an_owner_named_publishes_with_a_certificate_and_the_version_records_where_it_was_built()
    {
        var (name, _) = await TrustedPackageAsync();
        var (certificate, ephemeral) = await ExchangedAsync(name);

        var payload = JsonDocument.Parse(Convert.FromBase64String(certificate.Payload)).RootElement;
        Assert.Equal(PayloadTypes.PublisherCertificate, certificate.PayloadType);
        Assert.Equal(name, payload.GetProperty("name").GetString());
        Assert.Equal(ephemeral.Owner.KeyId, payload.GetProperty("keyId").GetString());
        Assert.Equal(Repository, payload.GetProperty("repository").GetString());
        Assert.Equal(Workflow, payload.GetProperty("workflow").GetString());
        var window = payload.GetProperty("notAfter").GetDateTimeOffset() - payload.GetProperty("notBefore").GetDateTimeOffset();
        Assert.True(window <= TimeSpan.FromMinutes(15) && window > TimeSpan.Zero, $"window {window}");
        var registryKey = (await fixture.Host.GetJson("/.well-known/marketplace")).GetProperty("registryKeys")[0].GetProperty("keyId").GetString();
        Assert.Equal(registryKey, certificate.Signatures[0].KeyId);

        var (status, code, _) = await fixture.Host.PublishCertifiedAsync(ephemeral, name, "2.0.0", TestPackages.RandomBlob(), certificate);
        Assert.True(status == 201, $"certified publish: {status} {code}");

        await fixture.WaitForProjectionsAsync();
        var version = await fixture.Host.GetJson($"/v1/packages/{name}/2.0.0");
        var provenance = version.GetProperty("provenance");
        Assert.Equal(fixture.GitHub.Issuer, provenance.GetProperty("issuer").GetString());
        Assert.Equal(Repository, provenance.GetProperty("repository").GetString());
        Assert.Equal(Workflow, provenance.GetProperty("workflow").GetString());
        Assert.Equal("refs/tags/v1.0.0", provenance.GetProperty("ref").GetString());
        Assert.Equal("0123456789abcdef0123456789abcdef01234567", provenance.GetProperty("sha").GetString());
        Assert.Equal("4242", provenance.GetProperty("runId").GetString());
        Assert.Equal(ephemeral.Owner.KeyId, version.GetProperty("keyId").GetString());
        Assert.Equal(certificate.Payload, version.GetProperty("certificate").GetProperty("payload").GetString());
        // A key-signed version shows no provenance.
        Assert.Equal(JsonValueKind.Null, (await fixture.Host.GetJson($"/v1/packages/{name}/1.0.0")).GetProperty("provenance").ValueKind);

        var package = await fixture.Host.GetJson($"/v1/packages/{name}");
        Assert.False(package.GetProperty("requireTrustedPublishing").GetBoolean());
        var publisher = Assert.Single(package.GetProperty("trustedPublishers").EnumerateArray());
        Assert.Equal(Repository, publisher.GetProperty("repository").GetString());

        // Every step is a logged event of the package's history.
        var history = await fixture.Host.Scenario(s => s.Get.Url($"/v1/packages/{name}/events"));
        var types = (await history.ReadAsTextAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("type").GetString()).ToList();
        Assert.Equal(["dev.marketplace.owner.added", "dev.marketplace.package.published", "dev.marketplace.trusted-publisher.added",
            "dev.marketplace.publisher-certificate.issued", "dev.marketplace.package.published"], types);
    }

    [Fact]
    public async Task the_version_page_says_which_workflow_published_it_and_which_owner_statement_allowed_it()
    {
        var (name, owner) = await TrustedPackageAsync();
        var (certificate, ephemeral) = await ExchangedAsync(name);
        var (status, code, _) = await fixture.Host.PublishCertifiedAsync(ephemeral, name, "2.0.0", TestPackages.RandomBlob(), certificate);
        Assert.True(status == 201, $"certified publish: {status} {code}");
        await fixture.WaitForProjectionsAsync();

        var page = await fixture.Host.Scenario(s => { s.Get.Url($"/packages/{name}/2.0.0"); s.WithRequestHeader("Accept", "text/html"); });
        var html = await page.ReadAsTextAsync();
        var panel = html[html.IndexOf("id=\"trust-title\"", StringComparison.Ordinal)..];
        panel = panel[..panel.IndexOf("</section>", StringComparison.Ordinal)];
        Assert.Contains("class=\"trust ok\"", html, StringComparison.Ordinal);
        Assert.Contains("Published through trusted publishing", panel, StringComparison.Ordinal);
        Assert.Contains(Repository, panel, StringComparison.Ordinal);
        Assert.Contains(Workflow, panel, StringComparison.Ordinal);
        Assert.Contains("0123456789abcdef0123456789abcdef01234567", panel, StringComparison.Ordinal);
        Assert.Contains("Publisher named by an owner before publish", panel, StringComparison.Ordinal);
        Assert.Contains(owner.Owner.KeyId, panel, StringComparison.Ordinal);
        Assert.DoesNotContain("Signer was an owner", panel, StringComparison.Ordinal);
        Assert.DoesNotContain("class=\"bad\"", panel, StringComparison.Ordinal);

        // The owner-signed first version keeps the owner check.
        var first = await (await fixture.Host.Scenario(s => { s.Get.Url($"/packages/{name}/1.0.0"); s.WithRequestHeader("Accept", "text/html"); })).ReadAsTextAsync();
        Assert.Contains("Signer was an owner at publish", first, StringComparison.Ordinal);
        Assert.DoesNotContain("Published through trusted publishing", first, StringComparison.Ordinal);
    }

    [Fact]
    public async Task a_gitlab_job_with_an_es256_token_for_the_registry_origin_is_exchanged()
    {
        var published = await fixture.Host.PublishedPackage(TestPackages.UniqueName("gl"));
        var (status, code, _) = await fixture.Host.ChangeAsync(published.Name,
            TrustedRequests.Statement(published.Owner, "add", published.Name, fixture.GitLab.Issuer, "group/widgets", ".gitlab-ci.yml"));
        Assert.Equal(200, status);
        var ephemeral = StatementSigner.Generate();
        var token = fixture.GitLab.Mint(fixture.GitLab.GitLabClaims(TrustedPublishingFixture.DefaultAudience), "ES256");
        (status, code, var body) = await fixture.Host.ExchangeAsync(token, published.Name, ephemeral.Owner);
        Assert.True(status == 201, $"{status} {code}");
        var payload = JsonDocument.Parse(Convert.FromBase64String(body.GetProperty("certificate").GetProperty("payload").GetString()!)).RootElement;
        Assert.Equal("group/widgets", payload.GetProperty("repository").GetString());
        Assert.Equal(".gitlab-ci.yml", payload.GetProperty("workflow").GetString());
        Assert.Equal("777", payload.GetProperty("runId").GetString());
    }

    public static TheoryData<string> TokenFaults => new()
    {
        "wrong-audience", "wrong-issuer", "unconfigured-issuer", "expired", "not-yet-valid", "issued-in-the-future", "alg-none", "hs256-with-public-key",
        "unknown-kid", "forged-signature", "no-jti", "garbage",
    };

    [Theory]
    [MemberData(nameof(TokenFaults))]
    public async Task a_token_that_does_not_verify_is_invalid_and_nothing_is_written(string fault)
    {
        var (name, _) = await TrustedPackageAsync();
        var github = fixture.GitHub;
        var claims = github.GitHubClaims(TrustedPublishingFixture.Audience);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string token = fault switch
        {
            "wrong-audience" => github.Mint(With(claims, "aud", "https://another-registry.example")),
            "wrong-issuer" => github.Mint(With(claims, "iss", fixture.GitLab.Issuer)),
            "unconfigured-issuer" => github.Mint(With(claims, "iss", "https://token.example.com")),
            "expired" => github.Mint(With(With(claims, "exp", now - 600), "iat", now - 900)),
            "not-yet-valid" => github.Mint(With(claims, "nbf", now + 600)),
            "issued-in-the-future" => github.Mint(With(claims, "iat", now + 600)),
            "alg-none" => github.Mint(claims, "none"),
            "hs256-with-public-key" => github.Mint(claims, "HS256"),
            "unknown-kid" => github.Mint(claims, headerKid: "rotated-away"),
            "forged-signature" => Marketplace.Tests.Shared.LocalOidcIssuer.MintWithStrangerKey(github.Mint(claims)),
            "no-jti" => github.Mint(With(claims, "jti", null)),
            _ => "not.a-token",
        };
        var before = await fixture.EventCountAsync();
        var (status, code, body) = await fixture.Host.ExchangeAsync(token, name, StatementSigner.Generate().Owner);
        Assert.True((status, code) == (401, "invalid-token"), $"{fault}: {status} {code} {body}");
        Assert.Equal(before, await fixture.EventCountAsync());
    }

    [Fact]
    public async Task a_token_is_exchanged_once_and_its_replay_is_a_conflict()
    {
        var (name, _) = await TrustedPackageAsync();
        var token = fixture.GitHub.Mint(fixture.GitHub.GitHubClaims(TrustedPublishingFixture.Audience));
        Assert.Equal(201, (await fixture.Host.ExchangeAsync(token, name, StatementSigner.Generate().Owner)).Status);
        var before = await fixture.EventCountAsync();
        var (status, code, _) = await fixture.Host.ExchangeAsync(token, name, StatementSigner.Generate().Owner);
        Assert.Equal((409, "token-replayed"), (status, code));
        Assert.Equal(before, await fixture.EventCountAsync());
    }

    public static TheoryData<string> IdentityFaults => new() { "another-repository", "another-workflow", "a-reusable-workflow-of-another-repository", "another-environment", "no-environment" };

    [Theory]
    [MemberData(nameof(IdentityFaults))]
    public async Task a_job_that_is_not_the_named_publisher_is_untrusted(string fault)
    {
        var (name, _) = await TrustedPackageAsync(environment: "release");
        var github = fixture.GitHub;
        var aud = TrustedPublishingFixture.Audience;
        var claims = fault switch
        {
            "another-repository" => github.GitHubClaims(aud, repository: "octo-org/gadgets", environment: "release"),
            "another-workflow" => github.GitHubClaims(aud, workflow: "ci.yml", environment: "release"),
            "a-reusable-workflow-of-another-repository" => github.GitHubClaims(aud, environment: "release", workflowRepository: "evil-org/widgets"),
            "another-environment" => github.GitHubClaims(aud, environment: "staging"),
            _ => github.GitHubClaims(aud),
        };
        var before = await fixture.EventCountAsync();
        var (status, code, body) = await fixture.Host.ExchangeAsync(github.Mint(claims), name, StatementSigner.Generate().Owner);
        Assert.True((status, code) == (403, "untrusted-publisher"), $"{fault}: {status} {code} {body}");
        Assert.Equal(before, await fixture.EventCountAsync());
    }

    [Fact]
    public async Task a_certificate_for_another_package_or_another_key_is_invalid()
    {
        var (name, _) = await TrustedPackageAsync();
        var (other, _) = await TrustedPackageAsync();
        var (certificate, ephemeral) = await ExchangedAsync(other);
        var (status, code, _) = await fixture.Host.PublishCertifiedAsync(ephemeral, name, "2.0.0", TestPackages.RandomBlob(), certificate);
        Assert.Equal((400, "invalid-certificate"), (status, code));

        var (own, _) = await ExchangedAsync(name);
        (status, code, _) = await fixture.Host.PublishCertifiedAsync(StatementSigner.Generate(), name, "2.0.0", TestPackages.RandomBlob(), own);
        Assert.Equal((400, "invalid-certificate"), (status, code));
    }

    [Fact]
    public async Task an_expired_certificate_is_refused_and_one_not_signed_by_the_registry_is_invalid()
    {
        var (name, _) = await TrustedPackageAsync();
        var ephemeral = StatementSigner.Generate();
        var job = new WorkloadIdentity(fixture.GitHub.Issuer, Repository, Repository, Workflow, "refs/heads/main", "abc", "1", null);
        var expired = fixture.SignAsRegistry(PublisherCertificate.For(name, ephemeral.Owner, job, DateTimeOffset.UtcNow.AddMinutes(-30)));
        var (status, code, _) = await fixture.Host.PublishCertifiedAsync(ephemeral, name, "2.0.0", TestPackages.RandomBlob(), expired);
        Assert.Equal((403, "certificate-expired"), (status, code));

        using var stranger = StatementSigner.Generate();
        var forged = stranger.SignBytes(PayloadTypes.PublisherCertificate, PublisherCertificate.For(name, ephemeral.Owner, job, DateTimeOffset.UtcNow).Serialize());
        (status, code, _) = await fixture.Host.PublishCertifiedAsync(ephemeral, name, "2.0.0", TestPackages.RandomBlob(), forged);
        Assert.Equal((400, "invalid-certificate"), (status, code));

        var valid = fixture.SignAsRegistry(PublisherCertificate.For(name, ephemeral.Owner, job, DateTimeOffset.UtcNow));
        Assert.Equal(201, (await fixture.Host.PublishCertifiedAsync(ephemeral, name, "2.0.0", TestPackages.RandomBlob(), valid)).Status);
    }

    [Fact]
    public async Task a_certificate_stops_working_once_its_trusted_publisher_is_removed()
    {
        var (name, owner) = await TrustedPackageAsync();
        var (certificate, ephemeral) = await ExchangedAsync(name);
        var (status, _, body) = await fixture.Host.ChangeAsync(name, TrustedRequests.Statement(owner, "remove", name, fixture.GitHub.Issuer, Repository, Workflow));
        Assert.Equal(200, status);
        Assert.Empty(body.GetProperty("trustedPublishers").EnumerateArray());
        var (publishStatus, code, _) = await fixture.Host.PublishCertifiedAsync(ephemeral, name, "2.0.0", TestPackages.RandomBlob(), certificate);
        Assert.Equal((403, "untrusted-publisher"), (publishStatus, code));
    }

    [Fact]
    public async Task with_trusted_publishing_required_an_owner_key_publish_is_refused_and_a_certified_one_is_accepted()
    {
        var (name, owner) = await TrustedPackageAsync();
        var (status, _, body) = await fixture.Host.ChangeAsync(name, TrustedRequests.Statement(owner, "require", name, required: true));
        Assert.Equal(200, status);
        Assert.True(body.GetProperty("requireTrustedPublishing").GetBoolean());

        var blob = TestPackages.RandomBlob();
        var (keyStatus, keyCode, _) = await fixture.Host.Send(s => s.Put.Json(TestPackages.PublishBody(owner, TestPackages.Statement(name, "2.0.0", blob), blob)).ToUrl($"/v1/packages/{name}/2.0.0"));
        Assert.Equal((403, "trusted-publishing-required"), (keyStatus, keyCode));

        var (certificate, ephemeral) = await ExchangedAsync(name);
        Assert.Equal(201, (await fixture.Host.PublishCertifiedAsync(ephemeral, name, "2.0.0", blob, certificate)).Status);

        Assert.Equal(200, (await fixture.Host.ChangeAsync(name, TrustedRequests.Statement(owner, "require", name, required: false))).Status);
        blob = TestPackages.RandomBlob();
        var (again, _, _) = await fixture.Host.Send(s => s.Put.Json(TestPackages.PublishBody(owner, TestPackages.Statement(name, "3.0.0", blob), blob)).ToUrl($"/v1/packages/{name}/3.0.0"));
        Assert.Equal(201, again);
        await fixture.WaitForProjectionsAsync();
        Assert.False((await fixture.Host.GetJson($"/v1/packages/{name}")).GetProperty("requireTrustedPublishing").GetBoolean());
    }

    [Fact]
    public async Task only_an_owner_names_trusted_publishers_and_only_of_a_configured_issuer()
    {
        var (name, owner) = await TrustedPackageAsync();
        using var stranger = StatementSigner.Generate();
        var (status, code, _) = await fixture.Host.ChangeAsync(name, TrustedRequests.Statement(stranger, "add", name, fixture.GitHub.Issuer, "stranger/repo", Workflow));
        Assert.Equal((403, "not-owner"), (status, code));
        (status, code, _) = await fixture.Host.ChangeAsync(name, TrustedRequests.Statement(owner, "add", name, "https://token.example.com", Repository, Workflow));
        Assert.Equal((400, "invalid-statement"), (status, code));
        (status, code, _) = await fixture.Host.ChangeAsync(name, TrustedRequests.Statement(owner, "add", name, fixture.GitHub.Issuer, "no-slash", Workflow));
        Assert.Equal((400, "invalid-statement"), (status, code));
        var listed = await fixture.Host.GetJson($"/v1/packages/{name}/trusted-publishers");
        Assert.Equal(name, listed.GetProperty("name").GetString());
        Assert.Single(listed.GetProperty("trustedPublishers").EnumerateArray());
    }

    [Fact]
    public async Task a_token_signed_with_a_key_the_issuer_rotated_in_after_the_registry_cached_its_keys_is_accepted()
    {
        var (name, _) = await TrustedPackageAsync();
        await ExchangedAsync(name); // the registry now holds the issuer's keys
        var kid = "rotated-" + Guid.NewGuid().ToString("n")[..8];
        fixture.GitHub.AddRsaKey(kid);
        var fetches = fixture.GitHub.JwksFetches;
        var token = fixture.GitHub.Mint(fixture.GitHub.GitHubClaims(TrustedPublishingFixture.Audience), kid: kid);
        var (status, code, _) = await fixture.Host.ExchangeAsync(token, name, StatementSigner.Generate().Owner);
        Assert.True(status == 201, $"{status} {code}");
        Assert.Equal(fetches + 1, fixture.GitHub.JwksFetches);
    }

    private static Dictionary<string, object?> With(Dictionary<string, object?> claims, string name, object? value) =>
        new(claims) { [name] = value };
}
