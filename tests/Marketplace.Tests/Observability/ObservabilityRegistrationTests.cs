using Marketplace.Functions.Observability;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using OpenTelemetry.Trace;

namespace Marketplace.Tests.Observability;

/// <summary>What <c>AddObservability</c> registers for a given configuration, without starting a host.</summary>
public sealed class ObservabilityRegistrationTests
{
    private static ServiceCollection Services(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddConsole());
        services.AddObservability(configuration);
        return services;
    }

    private static bool Has<T>(IServiceCollection services) => services.Any(d => d.ServiceType == typeof(T));

    [Fact]
    public void prometheus_is_the_default_exporter()
    {
        var services = Services();
        Assert.Equal(ObservabilityOptions.PrometheusMode, services.BuildServiceProvider().GetRequiredService<ObservabilityOptions>().Metrics);
        Assert.False(Has<EmfExporter>(services));
        Assert.True(Has<ProjectionLagSampler>(services));
    }

    [Fact]
    public void emf_runs_the_exporter_as_a_hosted_service()
    {
        var services = Services(("Observability:Metrics", "EMF"));
        Assert.True(Has<EmfExporter>(services));
        Assert.Contains(services, d => d.ServiceType == typeof(IHostedService));
    }

    [Fact]
    public void none_measures_nothing_in_the_background()
    {
        var services = Services(("Observability:Metrics", "none"));
        Assert.False(Has<EmfExporter>(services));
        Assert.False(Has<ProjectionLagSampler>(services));
    }

    [Theory]
    [InlineData("Observability:Metrics", "statsd")]
    [InlineData("Observability:Emf:FlushInterval", "00:00:00.100")]
    [InlineData("Observability:Emf:Namespace", "")]
    [InlineData("Observability:Emf:MaxSamples", "10")]
    public void a_bad_setting_fails_at_startup(string key, string value) =>
        Assert.Throws<InvalidOperationException>(() => Services((key, value)));

    [Fact]
    public void traces_are_exported_only_when_an_otlp_endpoint_is_set()
    {
        Assert.False(Has<TracerProvider>(Services()));
        Assert.True(Has<TracerProvider>(Services(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"))));
    }

    [Fact]
    public void console_logs_are_json_on_lambda_or_when_asked()
    {
        static string? Formatter(ServiceCollection services) =>
            services.BuildServiceProvider().GetRequiredService<IOptions<ConsoleLoggerOptions>>().Value.FormatterName;

        Assert.NotEqual(ConsoleFormatterNames.Json, Formatter(Services()));
        Assert.Equal(ConsoleFormatterNames.Json, Formatter(Services(("AWS_LAMBDA_FUNCTION_NAME", "marketplace-publish"))));
        Assert.Equal(ConsoleFormatterNames.Json, Formatter(Services(("Logging:Json", "true"))));
    }
}
