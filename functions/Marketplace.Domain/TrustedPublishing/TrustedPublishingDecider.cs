using Marketplace.Packages;
using Marketplace.Signing;

namespace Marketplace.TrustedPublishing;

/// <summary>Pure decisions about a package's trusted publishers and the certificates given to them.</summary>
public static class TrustedPublishingDecider
{
    public sealed record ChangePublisher(string Name, bool Add, TrustedPublisher Publisher, OwnerKey Signer);

    public sealed record SetRequirement(string Name, bool Required, OwnerKey Signer);

    /// <summary>A job proved <paramref name="Job"/> by an ID token (<paramref name="TokenId"/> its jti) and asks a certificate for its key.</summary>
    public sealed record IssueCertificate(string Name, WorkloadIdentity Job, string TokenId, PublisherCertificate Certificate, DsseEnvelope Envelope);

    public static Outcome<object[]> Decide(PackageState? state, ChangePublisher c, DateTimeOffset now)
    {
        if (state is null)
            return DomainError.NotFound($"Package {c.Name} does not exist; publish it with an owner key first.");
        if (!state.IsOwner(c.Signer.KeyId))
            return DomainError.NotOwner(c.Name, c.Signer.KeyId);
        var p = c.Publisher;
        var existing = state.TrustedPublishers.FirstOrDefault(t => t.SameAs(p));
        if (c.Add)
            return existing is not null
                ? Array.Empty<object>()
                : new object[] { new TrustedPublisherAdded(c.Name, p.Issuer, p.Repository, p.Workflow, p.Environment, c.Signer.KeyId, now) };
        if (existing is null)
            return DomainError.NotFound($"{p.Repository} ({p.Workflow}) is not a trusted publisher of {c.Name}.");
        return new object[]
        {
            new TrustedPublisherRemoved(
                c.Name, existing.Issuer, existing.Repository, existing.Workflow, existing.Environment, c.Signer.KeyId, now),
        };
    }

    public static Outcome<object[]> Decide(PackageState? state, SetRequirement c, DateTimeOffset now)
    {
        if (state is null)
            return DomainError.NotFound($"Package {c.Name} does not exist.");
        if (!state.IsOwner(c.Signer.KeyId))
            return DomainError.NotOwner(c.Name, c.Signer.KeyId);
        return state.RequireTrustedPublishing == c.Required
            ? Array.Empty<object>()
            : new object[] { new TrustedPublishingRequirementSet(c.Name, c.Required, c.Signer.KeyId, now) };
    }

    public static Outcome<object[]> Decide(PackageState? state, IssueCertificate c, DateTimeOffset now)
    {
        var job = c.Job;
        if (state is null || !state.TrustedPublishers.Any(p => p.Admits(job)))
            return DomainError.UntrustedPublisher(
                $"no trusted publisher of {c.Name} admits {job.WorkflowRepository}/{job.Workflow} in {job.Repository}" +
                (job.Environment is null ? "" : $" (environment {job.Environment})") + $" from {job.Issuer}.");
        var cert = c.Certificate;
        return new object[]
        {
            new PublisherCertificateIssued(c.Name, cert.KeyId, cert.PublicKey, cert.Issuer, cert.Repository, cert.Workflow, cert.Ref, cert.Sha,
                cert.RunId, cert.Environment, c.TokenId, cert.NotBefore, cert.NotAfter, c.Envelope, now),
        };
    }
}
