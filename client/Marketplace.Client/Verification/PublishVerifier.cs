using System.Buffers.Text;
using System.Text.Json;
using Marketplace.Packages;
using Marketplace.Signing;
using Marketplace.TrustedPublishing;

namespace Marketplace.Client.Verification;

/// <summary>
/// The checks that make a downloaded version trustworthy without trusting the registry's read models: the DSSE
/// signature over the publish statement, the statement against the version document, and — from the package's
/// history, every line proven in the transparency log — that the signing key was an owner when the version was
/// published and that the log recorded this very publish.
/// </summary>
public static class PublishVerifier
{
    /// <summary>
    /// Verifies the version's envelope under its public key (Ed25519 over DSSE PAE) and that the signed statement names
    /// this package, version, digest and size. Freshness is not checked: it mattered when the registry accepted it.
    /// </summary>
    public static PublishStatement VerifyEnvelope(VersionInfo version)
    {
        ArgumentNullException.ThrowIfNull(version);
        var what = $"{version.Name}@{version.Version}";
        var envelope = version.Envelope
            ?? throw new VerificationException(ClientErrorCodes.BadSignature, $"{what} has no signed envelope.");
        if (envelope.PayloadType != PayloadTypes.Publish)
            throw new VerificationException(ClientErrorCodes.BadSignature, $"{what} is signed with payload type '{envelope.PayloadType}', not a publish statement.");
        var key = OwnerKey.Parse(version.PublicKey);
        if (key.Error is { } keyError)
            throw new VerificationException(ClientErrorCodes.BadSignature, $"{what}: the publisher key is unusable: {keyError.Detail}");
        var signer = key.Value!;
        if (signer.KeyId != version.KeyId)
            throw new VerificationException(ClientErrorCodes.StatementMismatch, $"{what}: keyId {version.KeyId} is not the id of its public key ({signer.KeyId}).");
        var payload = Decode(envelope.Payload)
            ?? throw new VerificationException(ClientErrorCodes.BadSignature, $"{what}: the envelope's payload is not base64.");
        var pae = Dsse.Pae(envelope.PayloadType, payload);
        var verified = (envelope.Signatures ?? []).Any(s => s is not null
            && (s.KeyId is not { Length: > 0 } || s.KeyId == signer.KeyId)
            && Decode(s.Sig) is { Length: 64 } sig && signer.Verify(pae, sig));
        if (!verified)
            throw new VerificationException(ClientErrorCodes.BadSignature,
                $"{what}: no signature in its envelope verifies under the publisher key {signer.KeyId}.");

        PublishStatement statement;
        try
        {
            statement = JsonSerializer.Deserialize<PublishStatement>(payload, StatementJson.Options)
                ?? throw new JsonException("null statement");
        }
        catch (JsonException e)
        {
            throw new VerificationException(ClientErrorCodes.StatementMismatch, $"{what}: the signed payload is not a publish statement: {e.Message}");
        }
        if (PackageName.Normalize(statement.Name).Value != PackageName.Normalize(version.Name).Value)
            throw new VerificationException(ClientErrorCodes.StatementMismatch, $"{what}: the signed statement names package '{statement.Name}'.");
        if (SemanticVersion.Parse(statement.Version).Value?.Key != SemanticVersion.Parse(version.Version).Value?.Key)
            throw new VerificationException(ClientErrorCodes.StatementMismatch, $"{what}: the signed statement names version '{statement.Version}'.");
        if (statement.Sha256 != version.Sha256)
            throw new VerificationException(ClientErrorCodes.StatementMismatch,
                $"{what}: the registry says its blob is sha256 {version.Sha256}, but the publisher signed sha256 {statement.Sha256}.");
        if (statement.Size != version.Size)
            throw new VerificationException(ClientErrorCodes.StatementMismatch,
                $"{what}: the registry says its blob has {version.Size} bytes, but the publisher signed {statement.Size}.");
        return statement;
    }

    /// <summary>
    /// Replays the package's history (lines already proven in the log, in order) up to the publish of this version and
    /// checks that the key which signed it was an owner at that moment, that every owner change was made by an owner,
    /// and that the logged publish is this one: same key, digest, size and signed payload.
    /// </summary>
    /// <remarks>
    /// A version published by a certified key (trusted publishing) is checked instead against <paramref name="registryKey"/> (the
    /// pinned one): its certificate verifies under it, names this package and key, covers the moment of the publish, and its
    /// publisher had been named by an owner before the publish (and not removed since).
    /// </remarks>
    public static void VerifyOwnerAtPublish(VersionInfo version, PublishStatement statement, IReadOnlyList<RegistryEvent> history, OwnerKey? registryKey = null)
    {
        ArgumentNullException.ThrowIfNull(version);
        ArgumentNullException.ThrowIfNull(statement);
        ArgumentNullException.ThrowIfNull(history);
        var what = $"{version.Name}@{version.Version}";
        var versionKey = SemanticVersion.Parse(version.Version).Value?.Key;
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        var publishers = new List<TrustedPublisher>();
        var required = false;
        void ByOwner(RegistryEvent e, string field)
        {
            var by = e.DataString(field);
            if (by is null || !owners.ContainsKey(by))
                throw new VerificationException(ClientErrorCodes.HistoryMismatch,
                    $"{version.Name}'s logged history has a trusted-publishing change by {by}, which was not an owner (event {e.Sequence}).");
        }
        foreach (var e in history.OrderBy(e => e.Sequence))
        {
            switch (e.Type)
            {
                case RegistryEvent.TrustedPublisherAdded:
                    ByOwner(e, "addedBy");
                    publishers.Add(PublisherOf(e));
                    break;
                case RegistryEvent.TrustedPublisherRemoved:
                    ByOwner(e, "removedBy");
                    publishers.RemoveAll(p => p.SameAs(PublisherOf(e)));
                    break;
                case RegistryEvent.TrustedPublishingRequired:
                    ByOwner(e, "setBy");
                    required = e.Data.TryGetProperty("required", out var r) && r.ValueKind == JsonValueKind.True;
                    break;
                case RegistryEvent.Published when SemanticVersion.Parse(e.DataString("version")).Value?.Key == versionKey
                                                  && (version.Certificate is not null || e.Data.TryGetProperty("certificate", out _)):
                    VerifyCertifiedPublish(version, statement, e, publishers, registryKey);
                    return;
                case RegistryEvent.OwnerAdded:
                    var by = e.DataString("addedBy");
                    if (owners.Count > 0 && (by is null || !owners.ContainsKey(by)))
                        throw new VerificationException(ClientErrorCodes.HistoryMismatch,
                            $"{version.Name}'s logged history adds owner {e.DataString("keyId")} by {by}, which was not an owner (event {e.Sequence}).");
                    owners[e.DataString("keyId") ?? ""] = e.DataString("publicKey") ?? "";
                    break;
                case RegistryEvent.OwnerRemoved:
                    owners.Remove(e.DataString("keyId") ?? "");
                    break;
                case RegistryEvent.Published when SemanticVersion.Parse(e.DataString("version")).Value?.Key == versionKey:
                    if (required)
                        throw new VerificationException(ClientErrorCodes.NotOwnerAtPublish,
                            $"{what} is signed by an owner key, but {version.Name} required trusted publishing when it was published.");
                    if (!owners.TryGetValue(version.KeyId, out var ownerKey) || ownerKey != version.PublicKey)
                        throw new VerificationException(ClientErrorCodes.NotOwnerAtPublish,
                            $"{what} is signed by key {version.KeyId}, which was not an owner of {version.Name} when {version.Version} was published " +
                            $"(owners then: {(owners.Count == 0 ? "none" : string.Join(", ", owners.Keys.Order(StringComparer.Ordinal)))}).");
                    var loggedPayload = e.Data.TryGetProperty("envelope", out var env) && env.TryGetProperty("payload", out var p) ? p.GetString() : null;
                    if (e.DataString("keyId") != version.KeyId || e.DataString("sha256") != statement.Sha256
                        || (e.Data.TryGetProperty("size", out var size) ? size.GetInt64() : -1) != statement.Size
                        || loggedPayload != version.Envelope!.Payload)
                        throw new VerificationException(ClientErrorCodes.HistoryMismatch,
                            $"{what}: the transparency log recorded another publish (key {e.DataString("keyId")}, sha256 {e.DataString("sha256")}) " +
                            $"than the registry serves (key {version.KeyId}, sha256 {statement.Sha256}).");
                    return;
            }
        }
        throw new VerificationException(ClientErrorCodes.HistoryMismatch, $"{what}: the package's logged history has no publish of this version.");
    }

    private static TrustedPublisher PublisherOf(RegistryEvent e) =>
        new(e.DataString("issuer") ?? "", e.DataString("repository") ?? "", e.DataString("workflow") ?? "", e.DataString("environment"));

    private static void VerifyCertifiedPublish(VersionInfo version, PublishStatement statement, RegistryEvent e, List<TrustedPublisher> publishers, OwnerKey? registryKey)
    {
        var what = $"{version.Name}@{version.Version}";
        if (registryKey is null)
            throw new VerificationException(ClientErrorCodes.InvalidCertificate, $"{what} was published by a certified key, and no registry key is pinned to check its certificate.");
        var verified = PublisherCertificate.Verify(version.Certificate, registryKey, now: null);
        if (verified.Error is { } error)
            throw new VerificationException(ClientErrorCodes.InvalidCertificate, $"{what}: its publisher certificate is refused: {error.Detail}");
        var certificate = verified.Value!;
        if (PackageName.Normalize(certificate.Name).Value != PackageName.Normalize(version.Name).Value
            || certificate.KeyId != version.KeyId || certificate.PublicKey != version.PublicKey)
            throw new VerificationException(ClientErrorCodes.InvalidCertificate,
                $"{what}: its certificate is for {certificate.Name} and key {certificate.KeyId}, not for this package and its signing key {version.KeyId}.");
        var loggedCertificate = e.Data.TryGetProperty("certificate", out var c) && c.TryGetProperty("payload", out var cp) ? cp.GetString() : null;
        var loggedPayload = e.Data.TryGetProperty("envelope", out var env) && env.TryGetProperty("payload", out var p) ? p.GetString() : null;
        if (loggedCertificate != version.Certificate!.Payload || e.DataString("keyId") != version.KeyId || e.DataString("sha256") != statement.Sha256
            || loggedPayload != version.Envelope!.Payload)
            throw new VerificationException(ClientErrorCodes.HistoryMismatch,
                $"{what}: the transparency log recorded another publish or certificate than the registry serves.");
        if (e.Time is not { } at || at < certificate.NotBefore - PublisherCertificate.Skew || at > certificate.NotAfter + PublisherCertificate.Skew)
            throw new VerificationException(ClientErrorCodes.InvalidCertificate,
                $"{what} was published at {e.Time:O}, outside its certificate's window ({certificate.NotBefore:O} to {certificate.NotAfter:O}).");
        if (!publishers.Any(p => p.Covers(certificate.Publisher)))
            throw new VerificationException(ClientErrorCodes.UntrustedPublisherAtPublish,
                $"{what} was published by {certificate.Repository} ({certificate.Workflow}{(certificate.Environment is null ? "" : ", environment " + certificate.Environment)}) " +
                $"from {certificate.Issuer}, which no owner had named as a trusted publisher of {version.Name} before it was published.");
        if (version.Provenance is { } shown && shown != certificate.Provenance)
            throw new VerificationException(ClientErrorCodes.StatementMismatch, $"{what}: the provenance shown is not the one its certificate states.");
    }

    private static byte[]? Decode(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        var buffer = new byte[(text.Length * 3 + 3) / 4];
        if (Convert.TryFromBase64String(text, buffer, out var written)) return buffer[..written];
        if (Base64Url.IsValid(text) && Base64Url.TryDecodeFromChars(text, buffer, out written)) return buffer[..written];
        return null;
    }
}
