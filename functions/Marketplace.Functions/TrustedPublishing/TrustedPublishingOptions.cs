using System.Net;
using Marketplace.Functions.Protection;
using Marketplace.TrustedPublishing;

namespace Marketplace.Functions.TrustedPublishing;

/// <summary><c>TrustedPublishing:Issuers:{i}:*</c>: an OIDC issuer whose ID tokens the registry exchanges for certificates.</summary>
public sealed class IssuerOptions
{
    /// <summary>The issuer URL, exactly as tokens carry it in <c>iss</c> (e.g. <c>https://token.actions.githubusercontent.com</c>).</summary>
    public string Issuer { get; set; } = "";
    /// <summary><c>github</c> or <c>gitlab</c>: which claims name the repository, the workflow and the environment.</summary>
    public string Kind { get; set; } = "";
    /// <summary>The <c>aud</c> tokens must carry; default: the registry's public origin.</summary>
    public string? Audience { get; set; }

    public IssuerKind ParsedKind => string.Equals(Kind.Trim(), "gitlab", StringComparison.OrdinalIgnoreCase) ? IssuerKind.GitLab : IssuerKind.GitHub;
}

/// <summary><c>TrustedPublishing:*</c>, validated at startup.</summary>
public sealed class TrustedPublishingOptions
{
    public const string Section = "TrustedPublishing";
    public List<IssuerOptions> Issuers { get; set; } = [];
    /// <summary>How long an issuer's keys are used before they are fetched again.</summary>
    public TimeSpan KeysCacheFor { get; set; } = TimeSpan.FromHours(1);
    /// <summary>An unknown <c>kid</c> refetches the keys once, but not more often than this per issuer.</summary>
    public TimeSpan KeyRefreshMinInterval { get; set; } = TimeSpan.FromSeconds(10);

    public IssuerOptions? Find(string? issuer) => issuer is null ? null : Issuers.FirstOrDefault(i => i.Issuer == issuer);

    public static TrustedPublishingOptions From(IConfiguration configuration)
    {
        var options = configuration.GetSection(Section).Get<TrustedPublishingOptions>() ?? new TrustedPublishingOptions();
        var local = ProtectionOptions.From(configuration).Profile == ProtectionOptions.Local;
        for (var i = 0; i < options.Issuers.Count; i++)
        {
            var issuer = options.Issuers[i];
            var at = $"{Section}:Issuers:{i}";
            issuer.Issuer = issuer.Issuer.Trim().TrimEnd('/');
            if (!IsAllowedUrl(issuer.Issuer, local))
                throw new InvalidOperationException(
                    $"{at}:Issuer '{issuer.Issuer}' must be an absolute https URL (http only on loopback and only with Protection:Profile=local).");
            if (issuer.Kind.Trim().ToLowerInvariant() is not ("github" or "gitlab"))
                throw new InvalidOperationException($"{at}:Kind must be 'github' or 'gitlab'.");
            if (issuer.Audience is { Length: 0 }) issuer.Audience = null;
        }
        if (options.Issuers.GroupBy(i => i.Issuer).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new InvalidOperationException($"{Section}:Issuers names {twice.Key} twice.");
        if (options.KeyRefreshMinInterval < TimeSpan.Zero || options.KeysCacheFor <= TimeSpan.Zero)
            throw new InvalidOperationException($"{Section}:KeysCacheFor must be positive and KeyRefreshMinInterval not negative.");
        return options;
    }

    /// <summary>https anywhere; http only for a loopback host, and only in the <c>local</c> protection profile (tests, <c>infra/run</c>).</summary>
    public static bool IsAllowedUrl(string url, bool local) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && string.IsNullOrEmpty(uri.UserInfo) && string.IsNullOrEmpty(uri.Fragment)
        && (uri.Scheme == Uri.UriSchemeHttps
            || (uri.Scheme == Uri.UriSchemeHttp && local
                && (uri.IsLoopback || (IPAddress.TryParse(uri.Host, out var ip) && IPAddress.IsLoopback(ip)))));
}
