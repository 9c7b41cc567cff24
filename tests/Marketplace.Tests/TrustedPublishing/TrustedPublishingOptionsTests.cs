using Marketplace.Functions.TrustedPublishing;
using Microsoft.Extensions.Configuration;

namespace Marketplace.Tests.TrustedPublishing;

/// <summary>Issuer configuration is checked at startup: a bad issuer fails the start with a message, never a request.</summary>
public sealed class TrustedPublishingOptionsTests
{
    private static TrustedPublishingOptions From(string issuer, string kind = "github", string profile = "local") =>
        TrustedPublishingOptions.From(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Protection:Profile"] = profile,
            ["TrustedPublishing:Issuers:0:Issuer"] = issuer,
            ["TrustedPublishing:Issuers:0:Kind"] = kind,
        }).Build());

    [Theory]
    [InlineData("https://token.actions.githubusercontent.com", "local")]
    [InlineData("https://gitlab.com/", "production")]
    [InlineData("http://127.0.0.1:8080/issuer", "local")]
    [InlineData("http://localhost:8080", "local")]
    [InlineData("http://[::1]:8080", "local")]
    public void https_issuers_and_loopback_http_issuers_in_the_local_profile_are_accepted(string issuer, string profile) =>
        Assert.Equal(issuer.TrimEnd('/'), Assert.Single(From(issuer, profile: profile).Issuers).Issuer);

    [Theory]
    [InlineData("http://127.0.0.1:8080/issuer", "production")]
    [InlineData("http://issuer.example.com", "local")]
    [InlineData("http://10.0.0.1", "local")]
    [InlineData("ftp://issuer.example.com", "local")]
    [InlineData("issuer.example.com", "local")]
    [InlineData("https://user:pass@issuer.example.com", "local")]
    public void any_other_issuer_url_fails_the_start(string issuer, string profile)
    {
        var error = Assert.Throws<InvalidOperationException>(() => From(issuer, profile: profile));
        Assert.Contains("TrustedPublishing:Issuers:0:Issuer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void an_issuer_of_an_unknown_kind_fails_the_start() =>
        Assert.Contains(":Kind", Assert.Throws<InvalidOperationException>(() => From("https://ci.example.com", kind: "jenkins")).Message, StringComparison.Ordinal);
}
