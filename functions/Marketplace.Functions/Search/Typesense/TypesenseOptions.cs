using System.Text.Json;
using System.Text.RegularExpressions;
using Marketplace.Functions.Serverless;
using Microsoft.Extensions.Options;

namespace Marketplace.Functions.Search.Typesense;

/// <summary>The <c>Typesense</c> configuration section.</summary>
public sealed class TypesenseOptions
{
    public const string Section = "Typesense";

    /// <summary>Base URL of the Typesense node or load balancer, e.g. <c>https://search.example:443</c>.</summary>
    public string? Url { get; set; }

    /// <summary>The admin API key; or leave it unset and name a Secrets Manager secret in <see cref="ApiKeySecretArn"/>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>AWS Secrets Manager secret holding the key (the plain key, or JSON with <c>apiKey</c>), read once per process.</summary>
    public string? ApiKeySecretArn { get; set; }

    /// <summary>Another Secrets Manager endpoint (a test double); unset = the ARN's region.</summary>
    public string? SecretsEndpoint { get; set; }

    /// <summary>
    /// The alias every read and write goes through. The collection behind it is <c>{alias}_{UTC timestamp}</c>, so a
    /// full reindex fills a new collection and repoints the alias without a moment of missing results.
    /// </summary>
    public string Collection { get; set; } = "packages";

    /// <summary>Per attempt of a search or an administrative call.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Per attempt of a bulk import (Typesense's own clients advise minutes for big ones).</summary>
    public TimeSpan ImportTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Retries of one HTTP call after a 408, 429, 5xx, a timeout or a refused connection.</summary>
    public int Retries { get; set; } = 3;

    /// <summary>First retry delay, doubled each time (with jitter); a <c>Retry-After</c> answer wins.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Documents per import request.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>
    /// Rounds of re-sending the documents an import rejected (<c>success:false</c> lines) before the feed gives the
    /// page back to Marten, which pauses the subscription and runs the page again later.
    /// </summary>
    public int ImportAttempts { get; set; } = 5;

    /// <summary>How long the feed waits for the download counters to reach a page holding downloads.</summary>
    public TimeSpan DownloadCountsWait { get; set; } = TimeSpan.FromSeconds(30);

    public Uri BaseUri => new(Url!.EndsWith('/') ? Url : Url + "/", UriKind.Absolute);
}

/// <summary>Checks the section when the options are first used (at startup: <c>ValidateOnStart</c>).</summary>
public sealed partial class TypesenseOptionsValidation : IValidateOptions<TypesenseOptions>
{
    public ValidateOptionsResult Validate(string? name, TypesenseOptions o)
    {
        var errors = new List<string>();
        if (!Uri.TryCreate(o.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            errors.Add($"Typesense:Url must be an absolute http(s) URL (was '{o.Url}').");
        if (string.IsNullOrWhiteSpace(o.ApiKey) && string.IsNullOrWhiteSpace(o.ApiKeySecretArn))
            errors.Add("Typesense:ApiKey is not set (nor Typesense:ApiKeySecretArn, a Secrets Manager secret holding it).");
        if (!string.IsNullOrWhiteSpace(o.ApiKeySecretArn) && !o.ApiKeySecretArn.StartsWith("arn:", StringComparison.Ordinal))
            errors.Add($"Typesense:ApiKeySecretArn is not a Secrets Manager ARN: {o.ApiKeySecretArn}");
        if (!AliasName().IsMatch(o.Collection ?? ""))
            errors.Add($"Typesense:Collection is 1–64 letters, digits, '-' or '_' (was '{o.Collection}').");
        if (o.Timeout <= TimeSpan.Zero || o.ImportTimeout <= TimeSpan.Zero || o.DownloadCountsWait <= TimeSpan.Zero)
            errors.Add("Typesense:Timeout, ImportTimeout and DownloadCountsWait are positive durations.");
        if (o.Retries is < 0 or > 10 || o.RetryDelay < TimeSpan.Zero)
            errors.Add("Typesense:Retries is 0–10 and Typesense:RetryDelay is not negative.");
        if (o.BatchSize is < 1 or > 10_000 || o.ImportAttempts is < 1 or > 100)
            errors.Add("Typesense:BatchSize is 1–10000 and Typesense:ImportAttempts is 1–100.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    [GeneratedRegex(@"\A[A-Za-z0-9_-]{1,64}\z")]
    private static partial Regex AliasName();
}

/// <summary>
/// The API key, from configuration or read once from Secrets Manager on first use (the first call to Typesense),
/// so the secret never sits in the function configuration and no cold start pays for it before it is needed.
/// </summary>
public sealed class TypesenseApiKey
{
    private readonly Lazy<string> _value;

    public TypesenseApiKey(IOptions<TypesenseOptions> options)
    {
        var o = options.Value;
        _value = new Lazy<string>(() => string.IsNullOrWhiteSpace(o.ApiKey)
            ? FromSecret(DatabaseConnection.ReadSecret(o.ApiKeySecretArn!, o.SecretsEndpoint, credentials: null))
            : o.ApiKey);
    }

    public string Value => _value.Value;

    /// <summary>The secret as is, or the <c>apiKey</c> (or <c>api_key</c>) member of a JSON secret.</summary>
    public static string FromSecret(string secret)
    {
        var trimmed = secret.Trim();
        if (!trimmed.StartsWith('{')) return trimmed;
        using var json = JsonDocument.Parse(trimmed);
        foreach (var name in (string[])["apiKey", "api_key", "ApiKey"])
        {
            if (json.RootElement.TryGetProperty(name, out var value) && value.GetString() is { Length: > 0 } key)
                return key;
        }
        throw new InvalidOperationException("The Typesense API key secret is JSON without an apiKey member.");
    }
}
