using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Marketplace.Functions.Serverless;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;

namespace Marketplace.Functions.Azure;

/// <summary>
/// The one ASP.NET Core app (<c>AddMarketplace</c> + <c>MapMarketplace</c>, exactly as Kestrel hosts it) with a
/// function invocation as its server: each HTTP invocation's request and response features go through the app's whole
/// pipeline — rate limits, request timeouts, body caps, security headers, problem+json, then the feature slice the
/// route maps to. No endpoint logic lives in a function.
/// </summary>
public sealed class MarketplaceApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly InvocationServer _server;

    private MarketplaceApp(WebApplication app, InvocationServer server) => (_app, _server) = (app, server);

    public IServiceProvider Services => _app.Services;

    public static async Task<MarketplaceApp> StartAsync(IConfiguration configuration, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddConfiguration(configuration);
        builder.Services.AddMarketplace(builder.Configuration);
        var server = new InvocationServer();
        builder.Services.AddSingleton<IServer>(server);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapMarketplace();
        await app.StartAsync();
        return new MarketplaceApp(app, server);
    }

    /// <summary>Serves one HTTP invocation through the app; the response is written to the invocation's own.</summary>
    public async Task<IActionResult> ServeAsync(HttpRequest request)
    {
        await _server.ProcessAsync(request.HttpContext);
        return new EmptyResult();
    }

    /// <summary>The timer's run: Marten's catch-up, receipt pruning, then the due webhook deliveries.</summary>
    public Task<CatchUpSummary> CatchUpAsync(string trigger, CancellationToken ct) =>
        ProjectionCatchUp.CatchUpAndDispatchAsync(_app.Services, trigger, ct);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>An <see cref="IServer"/> that listens nowhere: it hands invocations to the app's pipeline.</summary>
    private sealed class InvocationServer : IServer
    {
        // What a server gives a request: the invocation's own request, response, body, connection and lifetime.
        private static readonly Type[] Carried =
        [
            typeof(IHttpRequestFeature), typeof(IHttpResponseFeature), typeof(IHttpResponseBodyFeature),
            typeof(IHttpConnectionFeature), typeof(IHttpRequestLifetimeFeature), typeof(IHttpRequestIdentifierFeature),
            typeof(IHttpMaxRequestBodySizeFeature), typeof(IHttpRequestBodyDetectionFeature), typeof(ITlsConnectionFeature),
            typeof(IHttpRequestTrailersFeature),
        ];

        private Func<IFeatureCollection, Task>? _process;

        public IFeatureCollection Features { get; } = new FeatureCollection();

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken) where TContext : notnull
        {
            _process = async features =>
            {
                var context = application.CreateContext(features);
                Exception? error = null;
                try
                {
                    await application.ProcessRequestAsync(context);
                    // As a server does at the end of a request: start the response (its OnStarting callbacks, the
                    // security headers among them, run now) while the app's context is still alive.
                    if (features.Get<IHttpResponseBodyFeature>() is { } body) await body.StartAsync();
                }
                catch (Exception e) { error = e; throw; }
                finally { application.DisposeContext(context, error); }
            };
            return Task.CompletedTask;
        }

        public Task ProcessAsync(HttpContext invocation)
        {
            var features = new FeatureCollection();
            foreach (var type in Carried)
                if (invocation.Features[type] is { } feature) features[type] = feature;
            return (_process ?? throw new InvalidOperationException("The marketplace app has not started.")).Invoke(features);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose()
        {
        }
    }
}
