using Marketplace.Functions.Transparency;
using Marketplace.Packages;
using Marketplace.Projections.Packages;
using Marketplace.Signing;
using Marketplace.TrustedPublishing;
using Marten;
using Marten.Events;

namespace Marketplace.Functions.Web;

/// <summary>One line of the verification panel: what was checked, whether it holds, and the evidence.</summary>
public sealed record TrustRow(string Check, bool Holds, Raw Evidence);

/// <summary>
/// Why a version can be trusted, checked on the server for every page: the stored DSSE envelope verifies under the
/// stored public key (with the domain's verifier, as of the publish time) and says this name, version, digest and
/// size; the signing key was an owner when the version was published (from the package's own history); and the
/// publish event is a leaf of the transparency log (with links to its inclusion proof and the checkpoint).
/// A version published through trusted publishing is signed by a CI job's ephemeral key, not an owner's: for it the
/// panel checks instead that its publisher certificate verifies under the registry key for this package and key, and
/// that an owner had named that trusted publisher before the publish (the statement's event, with its signer).
/// </summary>
public sealed record Trust(IReadOnlyList<TrustRow> Rows)
{
    public bool AllHold => Rows.All(r => r.Holds);

    /// <summary>Runs its two queries on two sessions at once (a page makes several independent reads).</summary>
    public static async Task<Trust> CheckAsync(IDocumentStore store, TransparencyLog log, Registry.RegistryKey registry, VersionDocument v,
        CancellationToken ct)
    {
        var rows = new List<TrustRow> { Signature(v) };

        // Owners just before the publish event: the owner events of its stream before it, folded in order
        // (the first publish's OwnerAdded precedes it). Only those are read, not the publishes with their READMEs.
        var ownerEvents = Task.Run(async () =>
        {
            await using var session = store.QuerySession();
            return await session.Events.QueryAllRawEvents()
                .Where(e => e.StreamKey == v.Name && e.Sequence < v.Sequence
                    && e.EventTypesAre(typeof(OwnerAdded), typeof(OwnerRemoved), typeof(TrustedPublisherAdded), typeof(TrustedPublisherRemoved)))
                .OrderBy(e => e.Sequence).ToListAsync(ct);
        }, ct);
        var logLeaf = Task.Run(async () =>
        {
            await using var session = store.QuerySession();
            return await log.LeafAsync(session, null, v.Sequence, ct);
        }, ct);
        var events = await ownerEvents;
        var owners = new HashSet<string>(StringComparer.Ordinal);
        var publishers = new Dictionary<TrustedPublisher, (long Sequence, string AddedBy)>();
        foreach (var e in events)
        {
            switch (e.Data)
            {
                case OwnerAdded a: owners.Add(a.KeyId); break;
                case OwnerRemoved r: owners.Remove(r.KeyId); break;
                case TrustedPublisherAdded a: publishers[a.Publisher] = (e.Sequence, a.AddedBy); break;
                case TrustedPublisherRemoved r: publishers.Remove(r.Publisher); break;
            }
        }
        if (v.Certificate is not null) rows.AddRange(Certified(v, registry, publishers));
        else rows.Add(SignerWasOwner(v, owners.Contains(v.KeyId)));

        var leaf = await logLeaf;
        rows.Add(new TrustRow("In the transparency log", leaf is not null, new Raw(leaf is { } l
            ? $"""Log index <strong>{l.Index}</strong> (event {l.Sequence}): """ +
              $"""<a href="/v1/log/proof/inclusion?index={l.Index}">inclusion proof</a> · <a href="/v1/log/checkpoint">checkpoint</a>"""
            : "Not in the log yet: the log catches up within moments of a publish.")));
        return new Trust(rows);
    }

    private static TrustRow SignerWasOwner(VersionDocument v, bool wasOwner) =>
        new("Signer was an owner at publish", wasOwner, new Raw(wasOwner
            ? $"""<a class="key" href="/keys/{Html.Encode(Html.Segment(v.KeyId))}">{Html.Encode(v.KeyId)}</a> owned {Html.Encode(v.Name)} """ +
              $"""when this version was published (<a href="/packages/{Html.Encode(Html.Segment(v.Name))}/history">history</a>)."""
            : $"""Key {Html.Encode(v.KeyId)} was not among the owners before this publish in the """ +
              $"""<a href="/packages/{Html.Encode(Html.Segment(v.Name))}/history">history</a>."""));

    /// <summary>The certificate under the registry key, for this package and signing key; and the owner statement that named its publisher.</summary>
    private static IEnumerable<TrustRow> Certified(VersionDocument v, Registry.RegistryKey registry,
        Dictionary<TrustedPublisher, (long Sequence, string AddedBy)> publishers)
    {
        var history = $"/packages/{Html.Encode(Html.Segment(v.Name))}/history";
        var verified = registry.Present
            ? PublisherCertificate.Verify(v.Certificate, registry.Public, v.PublishedAt)
            : DomainError.InvalidCertificate("this server holds no registry key to check it with.");
        if (!verified.TryGet(out var c, out var error))
        {
            yield return new TrustRow("Published through trusted publishing", false, new Raw(Html.Encode(error.Detail)));
            yield break;
        }
        var bound = c.Name == v.Name && c.KeyId == v.KeyId;
        yield return new TrustRow("Published through trusted publishing", bound, new Raw(bound
            ? $"""A certificate signed by the registry key binds <code>{Html.Encode(v.KeyId)}</code> to {Html.Encode(v.Name)} for this run: """ +
              $"""<span class="provenance">{Html.Encode(c.Repository)} · workflow <code>{Html.Encode(c.Workflow)}</code>""" +
              $"""{(c.Ref is null ? "" : " · ref " + Html.Encode(c.Ref))}{(c.Sha is null ? "" : " · commit " + Html.Encode(c.Sha))}""" +
              $"""{(c.RunId is null ? "" : " · run " + Html.Encode(c.RunId))}""" +
              $"""{(c.Environment is null ? "" : " · environment " + Html.Encode(c.Environment))}""" +
              $""" · issuer {Html.Encode(c.Issuer)}</span>"""
            : "The certificate verifies but names another package or key."));
        var named = publishers.TryGetValue(c.Publisher, out var statement);
        yield return new TrustRow("Publisher named by an owner before publish", named, new Raw(named
            ? $"""Owner <a class="key" href="/keys/{Html.Encode(Html.Segment(statement.AddedBy))}">{Html.Encode(statement.AddedBy)}</a> """ +
              $"""named this trusted publisher in event {statement.Sequence} (<a href="{history}">history</a>)."""
            : $"""No owner had named {Html.Encode(c.Repository)} / {Html.Encode(c.Workflow)} as a trusted publisher before this publish """ +
              $"""(<a href="{history}">history</a>)."""));
    }

    private static TrustRow Signature(VersionDocument v)
    {
        var verified = StatementVerifier.Verify<PublishStatement>(v.Envelope, v.PublicKey, PayloadTypes.Publish, v.PublishedAt);
        if (!verified.TryGet(out var checkedStatement, out var error))
            return new TrustRow("Signature verified", false, new Raw(Html.Encode(error.Detail)));
        var s = checkedStatement.Statement;
        var matches = PackageName.Normalize(s.Name).Value == v.Name && s.Version == v.Version && s.Sha256 == v.Sha256 && s.Size == v.Size
            && checkedStatement.Signer.KeyId == v.KeyId;
        return matches
            ? new TrustRow("Signature verified", true,
                new Raw($"Ed25519 over the DSSE envelope by <code>{Html.Encode(v.KeyId)}</code>, for this name, version, SHA-256 and size."))
            : new TrustRow("Signature verified", false, new Raw("The envelope verifies but signs a different name, version, digest or size."));
    }

    public static void Panel(HtmlWriter w, Trust trust, VersionDocument v)
    {
        w.Add($"""<section aria-labelledby="trust-title" class="trust {(trust.AllHold ? "ok" : "bad")}">""" +
            $"""<h2 id="trust-title">Verification</h2><ul>""");
        foreach (var row in trust.Rows)
        {
            w.Add($"""<li class="{(row.Holds ? "ok" : "bad")}"><span class="mark" aria-hidden="true">{(row.Holds ? "✓" : "✗")}</span> """ +
                $"""<strong>{row.Check}</strong><span class="visually-hidden">{(row.Holds ? ": yes" : ": no")}</span>""" +
                $"""<br><span class="evidence">{row.Evidence}</span></li>""");
        }
        w.Add($"""</ul><p class="meta">Checked by this server for {v.Version}; """ +
            $"""<code>mkt install</code> checks the same before it installs.</p></section>""");
    }
}
