using Marketplace.Webhooks;
using Microsoft.Extensions.Options;

namespace Marketplace.Functions.Webhooks;

/// <summary>The <c>Webhooks</c> configuration section.</summary>
public sealed class WebhookOptions
{
    public const string Section = "Webhooks";

    /// <summary>
    /// Local development only: http URLs and loopback, private and link-local receivers. Off, every connection is
    /// checked after DNS resolution and only public addresses are reached.
    /// </summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>One attempt, from connecting to the end of the response headers and the capped body.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(15);

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Bytes of a response body read at most (it is drained for the connection's sake, not kept).</summary>
    public int MaxResponseBytes { get; set; } = 16 * 1024;

    /// <summary>Waits after each failed attempt, comma-separated TimeSpans; the default is Standard Webhooks' example.</summary>
    public string RetrySchedule { get; set; } = string.Join(',', Marketplace.Webhooks.RetrySchedule.StandardDelays.Select(d => d.ToString("c")));

    /// <summary>Each wait varies by ± this fraction.</summary>
    public double Jitter { get; set; } = 0.2;

    /// <summary>Longest wait a receiver's <c>Retry-After</c> can ask for.</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromHours(24);

    public int MaxSubscriptionsPerKey { get; set; } = 25;

    /// <summary>
    /// Key ids (comma-separated) the operator allows registry-wide subscriptions that list download events; any other
    /// key is refused them (<c>download-events-not-allowed</c>). Package and owner scopes need no allowance.
    /// </summary>
    public string DownloadEventKeys { get; set; } = "";

    public bool AllowsRegistryDownloads(string keyId) =>
        DownloadEventKeys.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Contains(keyId, StringComparer.Ordinal);

    public int MaxUrlLength { get; set; } = 2048;

    /// <summary>Most deliveries a <c>redeliver</c> from a log position re-queues in one statement.</summary>
    public int MaxRedeliver { get; set; } = 10_000;

    /// <summary>Whether this instance runs the dispatcher as a hosted service (default: where the daemon runs in-process).</summary>
    public bool? Dispatcher { get; set; }

    /// <summary>How often the dispatcher looks for due deliveries when nothing woke it.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Chains (subscription, package) sent at once by one dispatcher, each by its own worker.</summary>
    public int Concurrency { get; set; } = 16;

    /// <summary>How long a dispatcher holds a chain it claimed; after a crash the chain is sent again once this runs out.</summary>
    public TimeSpan ChainLease { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Chains claimed in one statement at most, and deliveries a worker sends per claim.</summary>
    public int ChainsPerPass { get; set; } = 256;

    public int DeliveriesPerChain { get; set; } = 32;

    /// <summary>Longest run of <see cref="Delivering.WebhookDispatcher.DrainAsync(CancellationToken)"/> (the serverless dispatcher).</summary>
    public TimeSpan DispatchDeadline { get; set; } = TimeSpan.FromSeconds(50);

    public RetrySchedule Schedule() =>
        new(Marketplace.Webhooks.RetrySchedule.ParseDelays(RetrySchedule) ?? Marketplace.Webhooks.RetrySchedule.StandardDelays,
            Jitter, MaxRetryAfter);
}

public sealed class WebhookOptionsValidation : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions o)
    {
        var errors = new List<string>();
        if (Marketplace.Webhooks.RetrySchedule.ParseDelays(o.RetrySchedule) is null)
            errors.Add($"Webhooks:RetrySchedule must be comma-separated positive TimeSpans (e.g. 00:00:05,00:05:00); got '{o.RetrySchedule}'.");
        if (o.Jitter is < 0 or >= 1) errors.Add("Webhooks:Jitter must be in [0, 1).");
        if (o.Timeout <= TimeSpan.Zero) errors.Add("Webhooks:Timeout must be positive.");
        if (o.ConnectTimeout <= TimeSpan.Zero) errors.Add("Webhooks:ConnectTimeout must be positive.");
        if (o.MaxResponseBytes is < 0 or > 1024 * 1024) errors.Add("Webhooks:MaxResponseBytes must be 0 to 1 MiB.");
        if (o.MaxRetryAfter < TimeSpan.Zero) errors.Add("Webhooks:MaxRetryAfter must not be negative.");
        if (o.MaxSubscriptionsPerKey < 1) errors.Add("Webhooks:MaxSubscriptionsPerKey must be at least 1.");
        if (o.MaxUrlLength is < 16 or > 8192) errors.Add("Webhooks:MaxUrlLength must be 16 to 8192.");
        if (o.MaxRedeliver < 1) errors.Add("Webhooks:MaxRedeliver must be at least 1.");
        if (o.PollInterval <= TimeSpan.Zero) errors.Add("Webhooks:PollInterval must be positive.");
        if (o.ChainLease < o.Timeout + o.Timeout) errors.Add("Webhooks:ChainLease must be at least twice Webhooks:Timeout.");
        if (o.Concurrency < 1 || o.ChainsPerPass < 1 || o.DeliveriesPerChain < 1)
            errors.Add("Webhooks:Concurrency, ChainsPerPass and DeliveriesPerChain must be at least 1.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
