using System.Text;
using Marketplace.Webhooks;
using NSec.Cryptography;

namespace Marketplace.UnitTests.Webhooks;

public sealed class WebhookSignatureTests
{
    [Fact]
    public void v1_matches_the_standard_webhooks_reference_vector()
    {
        // From the Standard Webhooks reference libraries' own tests.
        var key = WebhookSignature.DecodeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        var content = WebhookSignature.SignedContent("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, Encoding.UTF8.GetBytes("{\"test\": 2432232314}"));
        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", WebhookSignature.V1(key, content));
    }

    [Fact]
    public void the_signed_content_is_id_dot_timestamp_dot_body_bytes()
    {
        var body = new byte[] { 0x7b, 0xff, 0x7d };
        Assert.Equal([.. "abc.42."u8.ToArray(), .. body], WebhookSignature.SignedContent("abc", 42, body));
    }

    [Fact]
    public void the_header_lists_v1_then_v1a_separated_by_one_space_and_both_verify()
    {
        var secret = WebhookSignature.NewSecret();
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        Assert.Equal(32, WebhookSignature.DecodeSecret(secret).Length);
        using var registry = new Key(SignatureAlgorithm.Ed25519);
        var body = "{\"specversion\":\"1.0\"}"u8.ToArray();
        var header = WebhookSignature.Header(WebhookSignature.DecodeSecret(secret), registry, "0190a5b2-7c1d-7e3f-9a4b-1c2d3e4f5a6b", 1700000000, body);

        var parts = header.Split(' ');
        Assert.Equal(2, parts.Length);
        Assert.Matches("^v1,[A-Za-z0-9+/]{43}=$", parts[0]);
        Assert.Matches("^v1a,[A-Za-z0-9+/]{86}==$", parts[1]);
        var content = WebhookSignature.SignedContent("0190a5b2-7c1d-7e3f-9a4b-1c2d3e4f5a6b", 1700000000, body);
        Assert.True(SignatureAlgorithm.Ed25519.Verify(registry.PublicKey, content, Convert.FromBase64String(parts[1]["v1a,".Length..])));
        Assert.Equal(parts[0], WebhookSignature.V1(WebhookSignature.DecodeSecret(secret), content));
    }

    [Fact]
    public void secrets_are_random_and_a_secret_without_the_prefix_is_refused()
    {
        Assert.NotEqual(WebhookSignature.NewSecret(), WebhookSignature.NewSecret());
        Assert.Throws<FormatException>(() => WebhookSignature.DecodeSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    }
}
