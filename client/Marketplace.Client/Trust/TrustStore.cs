using System.Text.Json;

namespace Marketplace.Client.Trust;

/// <summary>
/// What a client trusts about one registry: the key pinned on first use (checkpoints must verify under it, whatever
/// <c>/.well-known/marketplace</c> says later), the log's origin, and the last checkpoint it verified (every newer
/// one must be proven consistent with it, so the log can never be rewritten under the client).
/// </summary>
public sealed record RegistryTrust(string KeyId, string PublicKey, string Origin, KeptCheckpoint? Checkpoint);

public sealed record KeptCheckpoint(long TreeSize, string RootHash, string Note);

/// <summary>Keeps <see cref="RegistryTrust"/> per registry URL.</summary>
public interface ITrustStore
{
    Task<RegistryTrust?> LoadAsync(Uri registry, CancellationToken cancellationToken);
    Task SaveAsync(Uri registry, RegistryTrust trust, CancellationToken cancellationToken);
}

/// <summary>For one process: pins last as long as the client.</summary>
public sealed class MemoryTrustStore : ITrustStore
{
    private readonly Dictionary<string, RegistryTrust> _trust = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public Task<RegistryTrust?> LoadAsync(Uri registry, CancellationToken cancellationToken)
    {
        lock (_lock) return Task.FromResult(_trust.GetValueOrDefault(registry.ToString()));
    }

    public Task SaveAsync(Uri registry, RegistryTrust trust, CancellationToken cancellationToken)
    {
        lock (_lock) _trust[registry.ToString()] = trust;
        return Task.CompletedTask;
    }
}

/// <summary>
/// A JSON file (the CLI's <c>state.json</c>): <c>{"registries": {"&lt;url&gt;": {keyId, publicKey, origin, checkpoint}}}</c>,
/// written owner-only. A kept checkpoint is never replaced by a smaller one.
/// </summary>
public sealed class FileTrustStore(string path) : ITrustStore
{
    private sealed record State(SortedDictionary<string, RegistryTrust> Registries);

    public string Path { get; } = path;

    public async Task<RegistryTrust?> LoadAsync(Uri registry, CancellationToken cancellationToken) =>
        (await ReadAsync(cancellationToken)).Registries.GetValueOrDefault(registry.ToString());

    public async Task SaveAsync(Uri registry, RegistryTrust trust, CancellationToken cancellationToken)
    {
        var state = await ReadAsync(cancellationToken);
        var key = registry.ToString();
        if (state.Registries.GetValueOrDefault(key) is { Checkpoint: { } kept } && trust.Checkpoint is { } fresh && fresh.TreeSize < kept.TreeSize
            && trust.PublicKey == state.Registries[key].PublicKey)
            return; // another process kept a newer one, already proven consistent by it
        state.Registries[key] = trust;
        await PrivateFile.WriteAllTextAsync(Path, JsonSerializer.Serialize(state, ClientJson.Indented), cancellationToken);
    }

    private async Task<State> ReadAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Path))
            return new State(new SortedDictionary<string, RegistryTrust>(StringComparer.Ordinal));
        await using var stream = File.OpenRead(Path);
        var state = await JsonSerializer.DeserializeAsync<State>(stream, ClientJson.Options, cancellationToken);
        return new State(new SortedDictionary<string, RegistryTrust>(state?.Registries ?? [], StringComparer.Ordinal));
    }
}
