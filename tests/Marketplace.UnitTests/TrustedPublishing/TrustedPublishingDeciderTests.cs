using Marketplace.Packages;
using Marketplace.Signing;
using Marketplace.TrustedPublishing;

namespace Marketplace.UnitTests.TrustedPublishing;

/// <summary>The decisions of trusted publishing, on folded package state, with no database.</summary>
public sealed class TrustedPublishingDeciderTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private const string Name = "widgets";
    private const string GitHub = "https://token.actions.githubusercontent.com";
    private static readonly TrustedPublisher Release = new(GitHub, "octo-org/widgets", "release.yml", null);

    private readonly StatementSigner _owner = StatementSigner.Generate();
    private readonly StatementSigner _stranger = StatementSigner.Generate();
    private readonly StatementSigner _ephemeral = StatementSigner.Generate();
    private PackageState? _state;

    public void Dispose()
    {
        _owner.Dispose();
        _stranger.Dispose();
        _ephemeral.Dispose();
    }

    private void Given(params object[] events)
    {
        foreach (var e in events) _state = PackageState.Evolve(_state, e);
    }

    private void GivenAPackageWithTrustedPublisher(TrustedPublisher? publisher = null)
    {
        Given(new OwnerAdded(Name, _owner.Owner.KeyId, _owner.Owner.PublicKey, _owner.Owner.KeyId, T0));
        var p = publisher ?? Release;
        Given(new TrustedPublisherAdded(Name, p.Issuer, p.Repository, p.Workflow, p.Environment, _owner.Owner.KeyId, T0));
    }

    private static WorkloadIdentity Job(string repository = "octo-org/widgets", string workflow = "release.yml", string? environment = null,
        string? workflowRepository = null) =>
        new(GitHub, repository, workflowRepository ?? repository, workflow, "refs/heads/main", "abc", "1", environment);

    private TrustedPublishingDecider.IssueCertificate Issue(WorkloadIdentity job)
    {
        var certificate = PublisherCertificate.For(Name, _ephemeral.Owner, job, T0);
        return new(Name, job, "jti-1", certificate, _ephemeral.SignBytes(PayloadTypes.PublisherCertificate, certificate.Serialize()));
    }

    private static PackageDecider.Publish Publish(string version, StatementSigner signer, PublisherCertificate? certificate = null) =>
        new(Name, Name, SemanticVersion.Parse(version).Value!, new string('a', 64), 10, new PackageManifest(), signer.Owner,
            new DsseEnvelope(PayloadTypes.Publish, "e30=", []))
        {
            Certified = certificate is null ? null : new PackageDecider.CertifiedKey(certificate, new DsseEnvelope(PayloadTypes.PublisherCertificate, "e30=", [])),
        };

    [Fact]
    public void only_an_owner_adds_a_trusted_publisher_and_adding_it_twice_changes_nothing()
    {
        Given(new OwnerAdded(Name, _owner.Owner.KeyId, _owner.Owner.PublicKey, _owner.Owner.KeyId, T0));
        Assert.Equal("not-owner", TrustedPublishingDecider.Decide(_state, new TrustedPublishingDecider.ChangePublisher(Name, true, Release, _stranger.Owner), T0).Error?.Code);
        var added = TrustedPublishingDecider.Decide(_state, new TrustedPublishingDecider.ChangePublisher(Name, true, Release, _owner.Owner), T0).Value!;
        Given(Assert.IsType<TrustedPublisherAdded>(Assert.Single(added)));
        Assert.Empty(TrustedPublishingDecider.Decide(_state, new TrustedPublishingDecider.ChangePublisher(Name, true, Release with { Repository = "Octo-Org/Widgets" }, _owner.Owner), T0).Value!);
    }

    [Fact]
    public void the_named_workflow_gets_a_certificate_and_nothing_else_does()
    {
        GivenAPackageWithTrustedPublisher(Release with { Environment = "release" });
        Assert.IsType<PublisherCertificateIssued>(Assert.Single(TrustedPublishingDecider.Decide(_state, Issue(Job(environment: "release")), T0).Value!));
        foreach (var job in new[]
                 {
                     Job("octo-org/gadgets", environment: "release"), Job(workflow: "ci.yml", environment: "release"),
                     Job(environment: "staging"), Job(), Job(environment: "release", workflowRepository: "evil-org/widgets"),
                 })
            Assert.Equal("untrusted-publisher", TrustedPublishingDecider.Decide(_state, Issue(job), T0).Error?.Code);
    }

    [Fact]
    public void a_certified_key_publishes_with_provenance_while_its_publisher_is_named_and_not_after()
    {
        GivenAPackageWithTrustedPublisher();
        var certificate = PublisherCertificate.For(Name, _ephemeral.Owner, Job(), T0);
        var published = Assert.IsType<PackagePublished>(Assert.Single(PackageDecider.Decide(_state, Publish("2.0.0", _ephemeral, certificate), T0).Value!));
        Assert.Equal(new Provenance(GitHub, "octo-org/widgets", "release.yml", "refs/heads/main", "abc", "1", null), published.Provenance);
        Assert.NotNull(published.Certificate);

        Given(new TrustedPublisherRemoved(Name, GitHub, "octo-org/widgets", "release.yml", null, _owner.Owner.KeyId, T0));
        Assert.Equal("untrusted-publisher", PackageDecider.Decide(_state, Publish("2.0.0", _ephemeral, certificate), T0).Error?.Code);
    }

    [Fact]
    public void requiring_trusted_publishing_refuses_owner_key_publishes_but_not_certified_ones()
    {
        GivenAPackageWithTrustedPublisher();
        var set = TrustedPublishingDecider.Decide(_state, new TrustedPublishingDecider.SetRequirement(Name, true, _owner.Owner), T0).Value!;
        Given(set);
        Assert.True(_state!.RequireTrustedPublishing);
        Assert.Equal("trusted-publishing-required", PackageDecider.Decide(_state, Publish("2.0.0", _owner), T0).Error?.Code);
        Assert.Equal("not-owner", PackageDecider.Decide(_state, Publish("2.0.0", _stranger), T0).Error?.Code);
        Assert.False(PackageDecider.Decide(_state, Publish("2.0.0", _ephemeral, PublisherCertificate.For(Name, _ephemeral.Owner, Job(), T0)), T0).IsError);
        Assert.Empty(TrustedPublishingDecider.Decide(_state, new TrustedPublishingDecider.SetRequirement(Name, true, _owner.Owner), T0).Value!);
    }

    [Fact]
    public void a_certificate_verifies_only_under_the_registry_key_and_within_its_window()
    {
        using var registry = StatementSigner.Generate();
        var certificate = PublisherCertificate.For(Name, _ephemeral.Owner, Job(), T0);
        var envelope = registry.SignBytes(PayloadTypes.PublisherCertificate, certificate.Serialize());
        Assert.Equal(certificate, PublisherCertificate.Verify(envelope, registry.Owner, T0.AddMinutes(10)).Value);
        Assert.Equal("certificate-expired", PublisherCertificate.Verify(envelope, registry.Owner, T0.AddMinutes(17)).Error?.Code);
        Assert.Equal("invalid-certificate", PublisherCertificate.Verify(envelope, _owner.Owner, T0).Error?.Code);
        var tooLong = certificate with { NotAfter = T0.AddHours(1) };
        Assert.Equal("invalid-certificate", PublisherCertificate.Verify(registry.SignBytes(PayloadTypes.PublisherCertificate, tooLong.Serialize()), registry.Owner, T0).Error?.Code);
    }

    [Theory]
    [InlineData("octo-org/widgets/.github/workflows/release.yml@refs/heads/main", "octo-org/widgets", "release.yml")]
    [InlineData("shared-org/pipelines/.github/workflows/publish.yml@v2", "shared-org/pipelines", "publish.yml")]
    public void a_github_job_workflow_ref_names_the_workflow_and_the_repository_it_lives_in(string jobWorkflowRef, string workflowRepository, string workflow)
    {
        var token = IdToken.Parse(Unsigned(new() { ["repository"] = "octo-org/widgets", ["job_workflow_ref"] = jobWorkflowRef, ["run_id"] = "9" })).Value!;
        var job = token.Identity(GitHub, IssuerKind.GitHub).Value!;
        Assert.Equal((workflowRepository, workflow, "9"), (job.WorkflowRepository, job.Workflow, job.RunId));
    }

    [Fact]
    public void a_gitlab_ci_config_ref_uri_names_the_project_and_the_config_path()
    {
        var token = IdToken.Parse(Unsigned(new()
        {
            ["project_path"] = "group/sub/widgets", ["ci_config_ref_uri"] = "gitlab.com/group/sub/widgets//ci/release.yml@refs/tags/v1", ["pipeline_id"] = "77",
        })).Value!;
        var job = token.Identity("https://gitlab.com", IssuerKind.GitLab).Value!;
        Assert.Equal(("group/sub/widgets", "ci/release.yml", "77"), (job.WorkflowRepository, job.Workflow, job.RunId));
    }

    [Theory]
    [InlineData("none")]
    [InlineData("HS256")]
    [InlineData("RS512")]
    public void only_rs256_and_es256_tokens_are_read(string alg)
    {
        var header = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($$"""{"alg":"{{alg}}"}""")).TrimEnd('=');
        Assert.Equal("invalid-token", IdToken.Parse(header + ".e30.c2ln").Error?.Code);
    }

    private static string Unsigned(Dictionary<string, object> claims)
    {
        static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return B64("""{"alg":"RS256","kid":"k"}"""u8.ToArray()) + "." + B64(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(claims)) + ".c2ln";
    }
}
