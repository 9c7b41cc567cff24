namespace Marketplace.Functions.Observability;

/// <summary><c>Observability:*</c>: which metrics exporter runs and how often the background samplers work.</summary>
public sealed class ObservabilityOptions
{
    public const string PrometheusMode = "prometheus";
    public const string EmfMode = "emf";
    public const string NoMetrics = "none";

    /// <summary><c>prometheus</c> (<c>GET /metrics</c>), <c>emf</c> (CloudWatch EMF lines on stdout) or <c>none</c>.</summary>
    public string Metrics { get; set; } = PrometheusMode;

    /// <summary>How often read-model lag is measured; zero turns the sampler (and the lag gauges) off.</summary>
    public TimeSpan ProjectionLagInterval { get; set; } = TimeSpan.FromSeconds(15);

    public EmfOptions Emf { get; set; } = new();

    public static ObservabilityOptions From(IConfiguration configuration)
    {
        var options = configuration.GetSection("Observability").Get<ObservabilityOptions>() ?? new ObservabilityOptions();
        options.Metrics = options.Metrics.Trim().ToLowerInvariant();
        if (options.Metrics is not (PrometheusMode or EmfMode or NoMetrics))
            throw new InvalidOperationException($"Observability:Metrics is '{options.Metrics}'; use 'prometheus', 'emf' or 'none'.");
        if (options.ProjectionLagInterval < TimeSpan.Zero)
            throw new InvalidOperationException("Observability:ProjectionLagInterval must not be negative (zero turns it off).");
        if (options.Emf.Namespace is not { Length: > 0 and <= 255 })
            throw new InvalidOperationException("Observability:Emf:Namespace must have 1 to 255 characters.");
        if (options.Emf.FlushInterval < TimeSpan.FromSeconds(1))
            throw new InvalidOperationException("Observability:Emf:FlushInterval must be at least one second.");
        if (options.Emf.MaxSamples < EmfExporter.MaxValuesPerMetric)
            throw new InvalidOperationException($"Observability:Emf:MaxSamples must be at least {EmfExporter.MaxValuesPerMetric}.");
        return options;
    }
}

/// <summary><c>Observability:Emf:*</c>.</summary>
public sealed class EmfOptions
{
    /// <summary>The CloudWatch namespace of every metric.</summary>
    public string Namespace { get; set; } = "Marketplace";

    /// <summary>How often aggregated measurements are written (one line per dimension combination).</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Histogram samples kept per series and flush, at most 100 to a line. Past that a uniform reservoir is kept:
    /// percentiles stay unbiased, CloudWatch's SampleCount then undercounts (counters stay exact).
    /// </summary>
    public int MaxSamples { get; set; } = 1000;
}
