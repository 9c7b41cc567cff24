using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Marketplace.Signing;

namespace Marketplace.Client.Tests.Sdk;

/// <summary>A scripted registry: each request gets the next answer (or throws), and every request is kept.</summary>
internal sealed class ScriptedHandler(params Func<HttpRequestMessage, HttpResponseMessage>[] answers) : HttpMessageHandler
{
    public List<HttpRequestMessage> Requests { get; } = [];
    public List<string?> Bodies { get; } = [];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Requests.Add(request);
        Bodies.Add(request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken));
        var answer = answers[Math.Min(Requests.Count - 1, answers.Length - 1)];
        return answer(request);
    }

    public static HttpResponseMessage Problem(HttpStatusCode status, string code, TimeSpan? retryAfter = null)
    {
        var response = new HttpResponseMessage(status)
        {
            Content = new StringContent(
                $$"""{"type":"urn:marketplace:problem:{{code}}","title":"{{code}} title","status":{{(int)status}},"detail":"{{code}} detail","code":"{{code}}"}""",
                Encoding.UTF8, "application/problem+json"),
        };
        if (retryAfter is { } delay) response.Headers.RetryAfter = new RetryConditionHeaderValue(delay);
        response.Headers.Add("X-Correlation-Id", "corr-1");
        return response;
    }

    public static HttpResponseMessage Owners() => new(HttpStatusCode.OK)
    {
        Content = new StringContent("""{"name":"pkg","owners":[{"keyId":"ed25519:00","publicKey":"AA=="}]}""", Encoding.UTF8, "application/json"),
    };
}

public sealed class ClientHttpTests
{
    private static MarketplaceClient Client(ScriptedHandler handler, int retries = 3) => MarketplaceClient.CreateBuilder()
        .WithRegistry("http://registry.test/")
        .WithRetries(retries, TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(5))
        .WithPrimaryHandler(handler)
        .Build();

    [Fact]
    public async Task a_503_is_retried_and_the_answer_after_it_is_returned()
    {
        var handler = new ScriptedHandler(_ => ScriptedHandler.Problem(HttpStatusCode.ServiceUnavailable, "unavailable", TimeSpan.Zero), _ => ScriptedHandler.Owners());
        using var client = Client(handler);
        var owners = await client.GetOwnersAsync("pkg");
        Assert.Equal("pkg", owners.Name);
        Assert.Equal(2, handler.Requests.Count);
    }

    [Fact]
    public async Task a_429_waits_as_long_as_retry_after_says()
    {
        var handler = new ScriptedHandler(_ => ScriptedHandler.Problem(HttpStatusCode.TooManyRequests, "rate-limited", TimeSpan.FromSeconds(1)), _ => ScriptedHandler.Owners());
        using var client = Client(handler);
        var clock = Stopwatch.StartNew();
        await client.GetOwnersAsync("pkg");
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(950), $"waited {clock.Elapsed}");
        Assert.Equal(2, handler.Requests.Count);
    }

    [Fact]
    public async Task signed_statements_are_resent_after_429_but_never_after_a_broken_connection()
    {
        using var signer = StatementSigner.Generate();
        var limited = new ScriptedHandler(_ => ScriptedHandler.Problem(HttpStatusCode.TooManyRequests, "rate-limited", TimeSpan.Zero), _ => ScriptedHandler.Owners());
        using (var client = Client(limited))
            await client.AddOwnerAsync(signer, "pkg", signer.Owner);
        Assert.Equal(2, limited.Requests.Count);
        Assert.Equal(limited.Bodies[0], limited.Bodies[1]);
        Assert.Contains("\"envelope\"", limited.Bodies[0], StringComparison.Ordinal);

        var broken = new ScriptedHandler(_ => throw new HttpRequestException("connection reset"));
        using (var client = Client(broken))
            await Assert.ThrowsAsync<HttpRequestException>(() => client.AddOwnerAsync(signer, "pkg", signer.Owner));
        Assert.Single(broken.Requests);
        using (var client = Client(broken))
            await Assert.ThrowsAsync<HttpRequestException>(() => client.GetOwnersAsync("pkg"));
        Assert.Equal(1 + 1 + 3, broken.Requests.Count); // a read is retried
    }

    [Fact]
    public async Task when_retries_run_out_the_problem_comes_back_typed_with_its_code()
    {
        var handler = new ScriptedHandler(_ => ScriptedHandler.Problem(HttpStatusCode.ServiceUnavailable, "unavailable", TimeSpan.Zero));
        using var client = Client(handler, retries: 2);
        var e = await Assert.ThrowsAsync<MarketplaceApiException>(() => client.GetPackageAsync("pkg"));
        Assert.Equal(("unavailable", 503, "unavailable detail", "corr-1"), (e.Code, e.Status, e.Detail, e.CorrelationId));
        Assert.Equal(3, handler.Requests.Count);
    }

    [Fact]
    public async Task a_problem_is_not_retried_and_keeps_its_code()
    {
        var handler = new ScriptedHandler(_ => ScriptedHandler.Problem(HttpStatusCode.NotFound, "not-found"));
        using var client = Client(handler);
        var e = await Assert.ThrowsAsync<MarketplaceApiException>(() => client.GetVersionAsync("pkg", "1.0.0"));
        Assert.True(e.IsNotFound);
        Assert.Equal("urn:marketplace:problem:not-found", e.ProblemType);
        Assert.Single(handler.Requests);
        Assert.Equal("http://registry.test/v1/packages/pkg/1.0.0", handler.Requests[0].RequestUri!.ToString());
    }

    [Fact]
    public async Task a_call_is_cancelled_by_its_token()
    {
        var handler = new ScriptedHandler(_ => ScriptedHandler.Problem(HttpStatusCode.ServiceUnavailable, "unavailable", TimeSpan.FromSeconds(30)));
        using var client = Client(handler);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetPackageAsync("pkg", cancel.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
    }
}
