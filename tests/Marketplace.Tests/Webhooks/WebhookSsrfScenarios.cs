using Marketplace.Functions.Webhooks.Delivering;
using Marketplace.Tests.Support;
using Marketplace.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using static Marketplace.Tests.Webhooks.WebhookClient;

namespace Marketplace.Tests.Webhooks;

/// <summary>With private networks refused (the default): at subscription time, and on every connection after DNS resolution.</summary>
[Collection("webhooks strict")]
public sealed class WebhookSsrfScenarios(StrictWebhookFixture fixture)
{
    private Alba.IAlbaHost Host => fixture.Host;

    [Theory]
    [InlineData("http://hooks.example.com/in")]
    [InlineData("https://127.0.0.1/in")]
    [InlineData("https://10.0.0.1/in")]
    [InlineData("https://169.254.169.254/latest/meta-data/")]
    [InlineData("https://[::1]/in")]
    [InlineData("https://[fd00:ec2::254]/in")]
    [InlineData("https://[::ffff:10.0.0.1]/in")]
    [InlineData("https://localhost/in")]
    [InlineData("https://127.0.0.1.:8443/in")]
    [InlineData("https://169.254.169.254./latest/meta-data/")]
    [InlineData("https://app.localhost.:8443/in")]
    [InlineData("https://metadata.google.internal./")]
    [InlineData("https://\uFF11\uFF12\uFF17.\uFF10.\uFF10.\uFF11/")]
    [InlineData("https://metadata.google\uFF0Einternal/")]
    public async Task a_private_or_plain_http_url_is_refused_when_the_subscription_is_made(string url)
    {
        var p = await Host.PublishedPackage();
        var (status, code, body) = await Host.Post(p.Owner, Create(new WebhookScope("package", p.Name), url));
        Assert.True((400, "invalid-url") == (status, code), body.ToString());
    }

    [Fact]
    public async Task a_public_looking_name_that_resolves_to_loopback_is_refused_at_delivery_and_the_delivery_dies()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var p = await Host.PublishedPackage();
        var sub = await Host.Subscribe(p.Owner, new WebhookScope("package", p.Name), $"https://receiver.example.com:{receiver.Port}/hook");
        await Host.PublishedPackage(p.Name, "1.1.0", p.Owner);

        var log = await Host.WaitForDeliveries(sub, d => d.Length == 1 && d[0].State() == "dead");
        var attempts = log[0].GetProperty("attempts").EnumerateArray().ToList();
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts, a => Assert.Equal("refused: receiver.example.com resolves to 127.0.0.1 (loopback); webhooks go to public addresses only.", a.GetProperty("error").GetString()));
        Assert.NotEqual(System.Text.Json.JsonValueKind.Null, log[0].GetProperty("completedAt").ValueKind);
        Assert.Empty(receiver.Received);
    }

    [Theory]
    [InlineData("receiver.example.com.")]
    [InlineData("RECEIVER.Example.COM")]
    public async Task another_spelling_of_a_name_that_resolves_to_loopback_is_refused_at_delivery(string host)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var p = await Host.PublishedPackage();
        var sub = await Host.Subscribe(p.Owner, new WebhookScope("package", p.Name), $"https://{host}:{receiver.Port}/hook");
        await Host.PublishedPackage(p.Name, "1.1.0", p.Owner);

        var log = await Host.WaitForDeliveries(sub, d => d.Length == 1 && d[0].State() == "dead");
        var errors = log[0].GetProperty("attempts").EnumerateArray().Select(a => a.GetProperty("error").GetString() ?? "").ToList();
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.Contains("(loopback); webhooks go to public addresses only.", e, StringComparison.Ordinal));
        Assert.Empty(receiver.Received);
    }

    [Fact]
    public async Task the_connection_guard_refuses_every_non_public_address_after_resolution()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var client = Host.Services.GetRequiredService<WebhookSender>().Client;
        var urls = new[]
        {
            receiver.Url(),
            $"http://localhost:{receiver.Port}/hook",
            $"http://localhost.:{receiver.Port}/hook",
            $"http://127.0.0.1.:{receiver.Port}/hook",
            $"http://receiver.example.com.:{receiver.Port}/hook",
            $"http://[::1]:{receiver.Port}/hook",
            $"http://[::ffff:127.0.0.1]:{receiver.Port}/hook",
            "http://10.1.2.3:9/hook",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/latest/meta-data/",
            "http://metadata.example.com/latest/meta-data/",
            "http://mixed.example.com/hook",
        };
        foreach (var url in urls)
        {
            var e = await Assert.ThrowsAsync<HttpRequestException>(() => client.PostAsync(url, new StringContent("{}")));
            Assert.True(Refusal(e) is { } refused && refused.Message.StartsWith("refused:", StringComparison.Ordinal), $"{url}: {e}");
        }
        Assert.Empty(receiver.Received);
    }

    private static WebhookAddressRefusedException? Refusal(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is WebhookAddressRefusedException refused) return refused;
        }
        return null;
    }
}
