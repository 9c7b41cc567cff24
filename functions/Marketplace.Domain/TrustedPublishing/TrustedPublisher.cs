namespace Marketplace.TrustedPublishing;

/// <summary>
/// A CI workflow an owner named: the OIDC issuer, the repository (GitHub <c>owner/repo</c>, GitLab project path), the
/// workflow file (GitHub: its file name under <c>.github/workflows</c>; GitLab: the CI config path) and, optionally,
/// the deployment environment the job must run in.
/// </summary>
public sealed record TrustedPublisher(string Issuer, string Repository, string Workflow, string? Environment)
{
    /// <summary>Same publisher (repository and environment names are case-insensitive on GitHub and GitLab).</summary>
    public bool SameAs(TrustedPublisher other) =>
        Issuer == other.Issuer
        && string.Equals(Repository, other.Repository, StringComparison.OrdinalIgnoreCase)
        && Workflow == other.Workflow
        && string.Equals(Environment, other.Environment, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Whether a job with this identity is this publisher: same issuer, same repository, the workflow file of that very
    /// repository (a reusable workflow from another repository never matches), and the environment when one is named.
    /// </summary>
    public bool Admits(WorkloadIdentity job) =>
        string.Equals(job.WorkflowRepository, job.Repository, StringComparison.OrdinalIgnoreCase)
        && Covers(new TrustedPublisher(job.Issuer, job.Repository, job.Workflow, job.Environment));

    /// <summary>Whether a certificate's publisher (what a job proved) falls under this one.</summary>
    public bool Covers(TrustedPublisher proven) =>
        Issuer == proven.Issuer
        && string.Equals(Repository, proven.Repository, StringComparison.OrdinalIgnoreCase)
        && Workflow == proven.Workflow
        && (Environment is null || string.Equals(Environment, proven.Environment, StringComparison.OrdinalIgnoreCase));
}

/// <summary>What an ID token proves about the CI job that holds it, read by the issuer's kind.</summary>
public sealed record WorkloadIdentity(string Issuer, string Repository, string WorkflowRepository, string Workflow,
    string? Ref, string? Sha, string? RunId, string? Environment);

public static class TrustedPublisherRules
{
    public const int MaxLength = 256;

    /// <summary>Field rules for a trusted publisher named in an owner's statement.</summary>
    public static DomainError? Validate(string? issuer, string? repository, string? workflow, string? environment)
    {
        if (issuer is null || !Uri.TryCreate(issuer, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http")
            || issuer.Length > MaxLength)
            return DomainError.InvalidStatement("issuer must be the absolute URL of an OIDC issuer.");
        if (repository is not { Length: > 0 and <= MaxLength } || repository.Split('/') is not { Length: >= 2 } parts
            || parts.Any(p => p.Length == 0 || !p.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
            return DomainError.InvalidStatement(
                "repository must be a path such as owner/repo (GitLab: group/project) of letters, digits, '-', '_' and '.'.");
        if (workflow is not { Length: > 0 and <= MaxLength } || workflow.StartsWith('/') || workflow.Contains("//", StringComparison.Ordinal)
            || workflow.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c is '@' or '\\'))
            return DomainError.InvalidStatement(
                "workflow must be the workflow file name (e.g. release.yml; GitLab: the CI config path), without '@' or spaces.");
        if (environment is not null && (environment.Length is 0 or > MaxLength || environment.Any(char.IsControl)))
            return DomainError.InvalidStatement($"environment, when given, is 1 to {MaxLength} characters.");
        return null;
    }
}
