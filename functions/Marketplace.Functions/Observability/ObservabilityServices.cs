using System.Diagnostics;
using Marketplace.Functions.Infrastructure;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Prometheus;

namespace Marketplace.Functions.Observability;

/// <summary>
/// Metrics (Prometheus text at <c>/metrics</c> or CloudWatch EMF on stdout, by <c>Observability:Metrics</c>),
/// OpenTelemetry traces (OTLP, only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set) and the console log format
/// (JSON on Lambda or with <c>Logging:Json=true</c>).
/// </summary>
public static class ObservabilityServices
{
    public const string CorrelationTag = "marketplace.correlation_id";

    /// <summary>Npgsql 9 emits its spans on this ActivitySource (what Npgsql.OpenTelemetry's AddNpgsql() subscribes to).</summary>
    public const string NpgsqlActivitySource = "Npgsql";

    public static IServiceCollection AddObservability(this IServiceCollection services, IConfiguration configuration)
    {
        var options = ObservabilityOptions.From(configuration);
        services.AddSingleton(options);

        if (options.Metrics == ObservabilityOptions.EmfMode)
        {
            services.AddSingleton(sp => new EmfExporter(options.Emf, Console.Out, sp.GetRequiredService<TimeProvider>()));
            services.AddHostedService(sp => sp.GetRequiredService<EmfExporter>());
        }
        if (options.Metrics != ObservabilityOptions.NoMetrics && options.ProjectionLagInterval > TimeSpan.Zero)
        {
            services.AddSingleton<ProjectionLagSampler>();
            services.AddHostedService(sp => sp.GetRequiredService<ProjectionLagSampler>());
        }

        if (TracingEndpoint(configuration) is not null)
        {
            services.AddOpenTelemetry()
                .ConfigureResource(r => r.AddService(configuration["OTEL_SERVICE_NAME"] ?? "marketplace"))
                .WithTracing(tracing => tracing
                    .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsPlumbing(context.Request.Path))
                    .AddHttpClientInstrumentation()
                    .AddSource(NpgsqlActivitySource)
                    // Endpoint, protocol and headers come from the standard OTEL_EXPORTER_OTLP_* variables.
                    .AddOtlpExporter());
        }

        if (!string.IsNullOrEmpty(configuration["AWS_LAMBDA_FUNCTION_NAME"]) || configuration.GetValue("Logging:Json", false))
        {
            services.AddLogging(logging => logging.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
                o.IncludeScopes = true;
                o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
            }));
        }
        return services;
    }

    /// <summary>
    /// Outermost middleware: times every answer (after the exception handler has made its 500) into the latency
    /// histogram and tags the request's span with the correlation id.
    /// </summary>
    public static IApplicationBuilder UseObservability(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var started = Stopwatch.GetTimestamp();
        var failed = false;
        try
        {
            await next(context);
        }
        catch
        {
            failed = true;
            throw;
        }
        finally
        {
            var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            MarketplaceMetrics.RequestCompleted(route, MethodOf(context.Request.Method), failed ? 500 : context.Response.StatusCode,
                Stopwatch.GetElapsedTime(started));
            if (Activity.Current is { } activity && context.Id() is { } correlationId)
                activity.SetTag(CorrelationTag, correlationId);
        }
    });

    /// <summary><c>GET /metrics</c>: Prometheus text, mapped only when Prometheus is the metrics exporter.</summary>
    public static WebApplication MapMetrics(this WebApplication app)
    {
        if (app.Services.GetRequiredService<ObservabilityOptions>().Metrics == ObservabilityOptions.PrometheusMode)
            app.MapMetrics("/metrics", PrometheusBridge.Registry).WithDisplayName("Metrics");
        return app;
    }

    private static string? TracingEndpoint(IConfiguration configuration) =>
        configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] is { Length: > 0 } endpoint ? endpoint
        : configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] is { Length: > 0 } traces ? traces
        : null;

    private static bool IsPlumbing(PathString path) =>
        path.StartsWithSegments("/metrics") || path.StartsWithSegments("/health");

    // Methods are client input: an unknown one must not become a new series.
    private static string MethodOf(string method) => method switch
    {
        "GET" or "HEAD" or "POST" or "PUT" or "DELETE" or "PATCH" or "OPTIONS" => method,
        _ => "OTHER",
    };
}

/// <summary>
/// The bridge from the process-wide <c>Marketplace</c> meter to Prometheus (prometheus-net's meter adapter), made
/// once per process: the meter is static, so one listener and one registry serve every host in the process.
/// prometheus-net 8 publishes .NET counters as Prometheus gauges (a .NET counter can be re-created at any time).
/// </summary>
public static class PrometheusBridge
{
    private static readonly Lazy<(CollectorRegistry Registry, IDisposable Adapter)> Shared = new(Create);

    public static CollectorRegistry Registry => Shared.Value.Registry;

    private static (CollectorRegistry, IDisposable) Create()
    {
        var registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(registry);
        var adapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = registry,
            // 8.2.1 makes the metrics through MetricFactory, which defaults to the default registry's.
            MetricFactory = Metrics.WithCustomRegistry(registry),
            InstrumentFilterPredicate = instrument => instrument.Meter.Name == MarketplaceMetrics.MeterName,
            ResolveHistogramBuckets = _ => MarketplaceMetrics.LatencyBucketsMs,
            // prometheus-net unpublishes a series not updated for this long (a day at most); one that comes back
            // starts again from zero, which increase() and rate() read as a counter reset.
            MetricsExpireAfter = TimeSpan.FromDays(1),
        });
        return (registry, adapter);
    }
}
