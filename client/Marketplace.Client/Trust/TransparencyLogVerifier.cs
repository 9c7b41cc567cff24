using Marketplace.Signing;
using Marketplace.Transparency;

namespace Marketplace.Client.Trust;

/// <summary>A checkpoint whose signed note verified under the pinned registry key.</summary>
public sealed record VerifiedCheckpoint(string Origin, long TreeSize, byte[] RootHash, string Note)
{
    public string RootHashBase64 => Convert.ToBase64String(RootHash);
}

/// <summary>
/// The client's side of the transparency log. It pins the registry key on first use, accepts a checkpoint only when its
/// C2SP signed note verifies under that key, proves every newer checkpoint consistent with the last one it kept, and
/// proves each event it relies on included under a verified checkpoint (computing the leaf hash from the line itself).
/// Anything that fails is a <see cref="VerificationException"/>: nothing is trusted on the registry's word alone.
/// </summary>
public sealed class TransparencyLogVerifier
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);
    private readonly MarketplaceClient _client;
    private readonly ITrustStore _store;
    private readonly TimeProvider _time;
    private readonly TimeSpan _inclusionWait;

    internal TransparencyLogVerifier(MarketplaceClient client, ITrustStore store, TimeProvider time, TimeSpan inclusionWait)
    {
        _client = client;
        _store = store;
        _time = time;
        _inclusionWait = inclusionWait;
    }

    /// <summary>
    /// Fetches the latest checkpoint, checks its signature under the pinned key (pinning the registry's key first if this
    /// registry is new), proves it consistent with the kept checkpoint, and keeps it.
    /// </summary>
    public async Task<VerifiedCheckpoint> VerifyLatestCheckpointAsync(CancellationToken cancellationToken = default)
    {
        var trust = await PinnedAsync(cancellationToken);
        var served = await _client.GetCheckpointAsync(cancellationToken);
        var key = Convert.FromBase64String(trust.PublicKey);
        var checkpoint = Checkpoint.Verify(served.Note, trust.Origin, key)
            ?? throw new VerificationException(ClientErrorCodes.CheckpointSignature,
                $"The checkpoint's signed note does not verify under the pinned registry key {trust.KeyId} for origin '{trust.Origin}'.");
        if (checkpoint.TreeSize != served.TreeSize || Convert.ToBase64String(checkpoint.RootHash) != served.RootHash)
            throw new VerificationException(ClientErrorCodes.CheckpointSignature,
                $"The checkpoint's fields (size {served.TreeSize}, root {served.RootHash}) differ from its signed note (size {checkpoint.TreeSize}).");

        if (trust.Checkpoint is { } kept)
            await ProveConsistentAsync(kept, checkpoint, cancellationToken);
        var verified = new VerifiedCheckpoint(checkpoint.Origin, checkpoint.TreeSize, checkpoint.RootHash, served.Note);
        if (trust.Checkpoint is null || trust.Checkpoint.TreeSize < verified.TreeSize)
            await _store.SaveAsync(_client.Registry, trust with { Checkpoint = new KeptCheckpoint(verified.TreeSize, verified.RootHashBase64, verified.Note) }, cancellationToken);
        return verified;
    }

    /// <summary>The kept checkpoint, if any (no network).</summary>
    public async Task<KeptCheckpoint?> KeptCheckpointAsync(CancellationToken cancellationToken = default) =>
        (await _store.LoadAsync(_client.Registry, cancellationToken))?.Checkpoint;

    /// <summary>
    /// Proves every logged event of <paramref name="events"/> included in the log under a verified checkpoint. The log
    /// is a projection that lags the feed: an event not in it yet is waited for (a newer checkpoint, proven consistent),
    /// up to <see cref="MarketplaceClientOptions.LogInclusionWait"/>.
    /// </summary>
    public async Task<VerifiedCheckpoint> VerifyIncludedAsync(IEnumerable<RegistryEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        var checkpoint = await VerifyLatestCheckpointAsync(cancellationToken);
        var deadline = _time.GetUtcNow() + _inclusionWait;
        foreach (var e in events.Where(e => e.IsLogged))
        {
            while (true)
            {
                InclusionProofInfo? proof = null;
                try
                {
                    proof = await _client.GetInclusionProofAsync(sequence: e.Sequence, treeSize: checkpoint.TreeSize, cancellationToken: cancellationToken);
                }
                catch (MarketplaceApiException notYet) when (notYet.Status is 404 or 400)
                {
                    // 404: not logged yet; 400: logged beyond this checkpoint. Either way a newer checkpoint is needed.
                    if (_time.GetUtcNow() > deadline)
                        throw new VerificationException(ClientErrorCodes.LogInclusion,
                            $"Event {e.Sequence} ({e.Type} {e.Subject}) is not in the transparency log of size {checkpoint.TreeSize} " +
                            $"after waiting {_inclusionWait.TotalSeconds:0} s: {notYet.Detail}");
                }
                if (proof is not null)
                {
                    Check(e, proof, checkpoint);
                    break;
                }
                await Task.Delay(Poll, _time, cancellationToken);
                checkpoint = await VerifyLatestCheckpointAsync(cancellationToken);
            }
        }
        return checkpoint;
    }

    private static void Check(RegistryEvent e, InclusionProofInfo proof, VerifiedCheckpoint checkpoint)
    {
        var leaf = e.LeafHash();
        byte[][] path;
        try
        {
            path = proof.Proof.Select(Convert.FromBase64String).ToArray();
        }
        catch (FormatException)
        {
            throw new VerificationException(ClientErrorCodes.LogInclusion, $"The inclusion proof of event {e.Sequence} is not base64.");
        }
        if (proof.Sequence != e.Sequence || proof.TreeSize != checkpoint.TreeSize)
            throw new VerificationException(ClientErrorCodes.LogInclusion,
                $"The registry answered a proof for event {proof.Sequence} in a tree of {proof.TreeSize} when asked for event {e.Sequence} in {checkpoint.TreeSize}.");
        if (!MerkleVerifier.VerifyInclusion(leaf, proof.Index, checkpoint.TreeSize, path, checkpoint.RootHash))
            throw new VerificationException(ClientErrorCodes.LogInclusion,
                $"Event {e.Sequence} ({e.Type} {e.Subject}) as served is not leaf {proof.Index} of the verified log of size {checkpoint.TreeSize}: " +
                "the line differs from what the log holds, or the proof is wrong.");
    }

    private async Task ProveConsistentAsync(KeptCheckpoint kept, Checkpoint latest, CancellationToken cancellationToken)
    {
        var keptRoot = Convert.FromBase64String(kept.RootHash);
        if (latest.TreeSize < kept.TreeSize)
            throw new VerificationException(ClientErrorCodes.LogConsistency,
                $"The log shrank: this client kept a checkpoint of size {kept.TreeSize}, the registry now signs size {latest.TreeSize}.");
        IReadOnlyList<byte[]> proof = [];
        if (latest.TreeSize != kept.TreeSize)
        {
            var served = await _client.GetConsistencyProofAsync(kept.TreeSize, latest.TreeSize, cancellationToken);
            try
            {
                proof = served.Proof.Select(Convert.FromBase64String).ToArray();
            }
            catch (FormatException)
            {
                proof = [];
            }
        }
        if (!MerkleVerifier.VerifyConsistency(kept.TreeSize, latest.TreeSize, keptRoot, latest.RootHash, proof))
            throw new VerificationException(ClientErrorCodes.LogConsistency,
                $"The log of size {latest.TreeSize} is not an extension of the one of size {kept.TreeSize} this client verified before: its past was rewritten.");
    }

    /// <summary>The registry key pinned for this registry (pinned now on first use): what publisher certificates must verify under.</summary>
    public async Task<OwnerKey> PinnedRegistryKeyAsync(CancellationToken cancellationToken = default)
    {
        var trust = await PinnedAsync(cancellationToken);
        return new OwnerKey(trust.KeyId, trust.PublicKey);
    }

    /// <summary>The pinned trust for this registry, pinning the key <c>/.well-known/marketplace</c> presents on first use.</summary>
    private async Task<RegistryTrust> PinnedAsync(CancellationToken cancellationToken)
    {
        var info = await _client.GetRegistryInfoAsync(cancellationToken);
        var origin = info.Limits.TransparencyLog?.Origin
            ?? throw new VerificationException(ClientErrorCodes.CheckpointSignature, "The registry announces no transparency log (limits.transparencyLog).");
        var trust = await _store.LoadAsync(_client.Registry, cancellationToken);
        if (trust is null)
        {
            var presented = (info.RegistryKeys.Count > 0 ? info.RegistryKeys[0] : null)
                ?? throw new VerificationException(ClientErrorCodes.RegistryKeyChanged, "The registry presents no key in /.well-known/marketplace.");
            var parsed = OwnerKey.Parse(presented.PublicKey);
            if (parsed.Error is { } error || parsed.Value!.KeyId != presented.KeyId)
                throw new VerificationException(ClientErrorCodes.RegistryKeyChanged, $"The registry's key is malformed: {parsed.Error?.Detail ?? "keyId does not match"}.");
            trust = new RegistryTrust(presented.KeyId, presented.PublicKey, origin, null);
            await _store.SaveAsync(_client.Registry, trust, cancellationToken);
            return trust;
        }
        if (info.RegistryKeys.All(k => k.PublicKey != trust.PublicKey))
            throw new VerificationException(ClientErrorCodes.RegistryKeyChanged,
                $"The registry no longer presents the key {trust.KeyId} pinned for {_client.Registry} (it presents {string.Join(", ", info.RegistryKeys.Select(k => k.KeyId))}). " +
                "If it rotated its key on purpose, remove its entry from the client state to pin the new one.");
        if (trust.Origin != origin)
            throw new VerificationException(ClientErrorCodes.RegistryKeyChanged, $"The log's origin changed from '{trust.Origin}' to '{origin}'.");
        return trust;
    }
}
