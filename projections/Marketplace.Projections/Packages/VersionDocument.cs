using JasperFx.Events;
using Marketplace.Packages;
using Marketplace.Signing;
using Marten.Events.Projections;

namespace Marketplace.Projections.Packages;

/// <summary>The read model behind <c>GET /v1/packages/{name}/{version}</c>; id is <c>name@versionKey</c>.</summary>
public sealed class VersionDocument
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Version { get; set; } = "";
    public PackageManifest Manifest { get; set; } = new();
    public string Sha256 { get; set; } = "";
    public long Size { get; set; }
    public bool Yanked { get; set; }
    public string? YankedReason { get; set; }
    public DateTimeOffset PublishedAt { get; set; }
    public string KeyId { get; set; } = "";
    public string PublicKey { get; set; } = "";
    public DsseEnvelope? Envelope { get; set; }
    /// <summary>Trusted publishing: where the version was built, and the registry's certificate of the signing key.</summary>
    public Marketplace.TrustedPublishing.Provenance? Provenance { get; set; }
    public DsseEnvelope? Certificate { get; set; }
    /// <summary>The global sequence of the publish event: what a read model must have applied to show this version.</summary>
    public long Sequence { get; set; }

    public static string IdOf(string name, string versionKey) => $"{name}@{versionKey}";
}

public sealed partial class VersionDocumentProjection : MultiStreamProjection<VersionDocument, string>
{
    public VersionDocumentProjection()
    {
        Name = "VersionDocument";
        Identity<IVersionEvent>(e => VersionDocument.IdOf(e.Name, e.VersionKey));
        // The concrete types, so the daemon loads only these (see PackageDocumentProjection).
        foreach (var type in PackageEventTypes.OfVersions) IncludeType(type);
    }

    public override VersionDocument? Evolve(VersionDocument? doc, string id, IEvent e)
    {
        ProjectionMetrics.Applied(Name, e);
        return Fold(doc, id, e);
    }

    /// <summary>
    /// The fold itself, without the projection's metrics: what the daemon applies, and what a read folds from the package
    /// stream for a version the daemon has not projected yet (<c>ReadModels.VersionAsync</c>) — one fold, so the two give
    /// the same document.
    /// </summary>
    public static VersionDocument? Fold(VersionDocument? doc, string id, IEvent e)
    {
        switch (e.Data)
        {
            case PackagePublished p:
                return new VersionDocument
                {
                    Id = id,
                    Name = p.Name,
                    Version = p.Version,
                    Manifest = p.Manifest,
                    Sha256 = p.Sha256,
                    Size = p.Size,
                    PublishedAt = p.PublishedAt,
                    KeyId = p.KeyId,
                    PublicKey = p.PublicKey,
                    Envelope = p.Envelope,
                    Provenance = p.Provenance,
                    Certificate = p.Certificate,
                    Sequence = e.Sequence,
                };
            case VersionYanked y when doc is not null:
                doc.Yanked = true;
                doc.YankedReason = y.Reason;
                return doc;
            case VersionUnyanked when doc is not null:
                doc.Yanked = false;
                doc.YankedReason = null;
                return doc;
            default:
                return doc;
        }
    }
}
