using Marketplace.Packages;
using Marketplace.Signing;

namespace Marketplace.TrustedPublishing;

/// <summary>An owner named a CI workflow that may publish the package (events of the package stream, logged).</summary>
public sealed record TrustedPublisherAdded(string Name, string Issuer, string Repository, string Workflow, string? Environment,
    string AddedBy, DateTimeOffset AddedAt) : IPackageEvent
{
    public TrustedPublisher Publisher => new(Issuer, Repository, Workflow, Environment);
}

public sealed record TrustedPublisherRemoved(string Name, string Issuer, string Repository, string Workflow, string? Environment,
    string RemovedBy, DateTimeOffset RemovedAt) : IPackageEvent
{
    public TrustedPublisher Publisher => new(Issuer, Repository, Workflow, Environment);
}

/// <summary>An owner turned "trusted publishing only" on or off: owner-key-signed publishes are refused while it is on.</summary>
public sealed record TrustedPublishingRequirementSet(string Name, bool Required, string SetBy, DateTimeOffset SetAt) : IPackageEvent;

/// <summary>
/// The registry exchanged a CI job's OIDC ID token (<see cref="TokenId"/> is its <c>jti</c>) for a short-lived certificate
/// binding the job's ephemeral key to the package and the workflow that ran.
/// </summary>
public sealed record PublisherCertificateIssued(string Name, string KeyId, string PublicKey, string Issuer, string Repository, string Workflow,
    string? Ref, string? Sha, string? RunId, string? Environment, string TokenId, DateTimeOffset NotBefore, DateTimeOffset NotAfter,
    DsseEnvelope Certificate, DateTimeOffset IssuedAt) : IPackageEvent;

/// <summary>Where a certified version was built: what the certificate said about the workflow run.</summary>
public sealed record Provenance(string Issuer, string Repository, string Workflow, string? Ref, string? Sha, string? RunId, string? Environment);
