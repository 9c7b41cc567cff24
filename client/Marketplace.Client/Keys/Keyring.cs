using System.Text.Json;
using Marketplace.Packages;
using Marketplace.Signing;
using NSec.Cryptography;

namespace Marketplace.Client.Keys;

/// <summary>A keyring that cannot be used as it is: missing key, bad name, or readable by others.</summary>
public sealed class KeyringException(string code, string message) : MarketplaceException(code, message);

/// <summary>One Ed25519 key: its name in the keyring, the API's keyId and public key, and the raw 32-byte seed.</summary>
public sealed record KeyringEntry(string Name, string KeyId, string PublicKey, string PrivateKey, DateTimeOffset CreatedAt)
{
    public OwnerKey Owner => new(KeyId, PublicKey);
}

/// <summary>
/// Signing keys in one JSON file (<c>{"version": 1, "default": name, "keys": [...]}</c>), written owner-only (0600 in a
/// 0700 folder) and refused when group or others can read it, as ssh refuses an exposed private key.
/// </summary>
public sealed class Keyring
{
    private sealed record Document(int Version, string? Default, List<KeyringEntry> Keys);

    private readonly List<KeyringEntry> _keys;

    private Keyring(string path, string? defaultKey, List<KeyringEntry> keys)
    {
        Path = path;
        Default = defaultKey;
        _keys = keys;
    }

    public string Path { get; }
    public string? Default { get; private set; }
    public IReadOnlyList<KeyringEntry> Keys => _keys;

    /// <summary>Loads the keyring, or an empty one when the file does not exist yet.</summary>
    public static async Task<Keyring> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(path))
            return new Keyring(path, null, []);
        if (PrivateFile.IsExposed(path))
            throw new KeyringException("keyring-exposed", $"{path} can be read or written by others; make it owner-only (chmod 600 {path}).");
        await using var stream = File.OpenRead(path);
        Document? doc;
        try
        {
            doc = await JsonSerializer.DeserializeAsync<Document>(stream, ClientJson.Options, cancellationToken);
        }
        catch (JsonException e)
        {
            throw new KeyringException("keyring-invalid", $"{path} is not a keyring: {e.Message}");
        }
        return new Keyring(path, doc?.Default, doc?.Keys ?? []);
    }

    /// <summary>Makes a new Ed25519 key; the first key of a keyring becomes its default.</summary>
    public KeyringEntry Create(string name, DateTimeOffset now)
    {
        if (PackageName.Normalize(name).Value != name)
            throw new KeyringException("invalid-key-name", $"'{name}' is not a key name: lowercase letters, digits and '-', starting with a letter.");
        if (_keys.Any(k => k.Name == name))
            throw new KeyringException("key-exists", $"The keyring already has a key named '{name}'.");
        using var key = new Key(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        var publicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        var entry = new KeyringEntry(name, OwnerKey.KeyIdOf(publicKey), Convert.ToBase64String(publicKey),
            Convert.ToBase64String(key.Export(KeyBlobFormat.RawPrivateKey)), now);
        _keys.Add(entry);
        Default ??= name;
        return entry;
    }

    public void SetDefault(string name) => Default = Get(name).Name;

    /// <summary>The named key, or the default one.</summary>
    public KeyringEntry Get(string? name)
    {
        name ??= Default;
        if (name is null)
            throw new KeyringException("no-key", $"{Path} has no keys yet: create one with `mkt key new`.");
        return _keys.FirstOrDefault(k => k.Name == name || k.KeyId == name)
            ?? throw new KeyringException("no-key", $"{Path} has no key named '{name}' (it has: {string.Join(", ", _keys.Select(k => k.Name))}).");
    }

    /// <summary>A signer for the named (or default) key; dispose it when done.</summary>
    public StatementSigner OpenSigner(string? name)
    {
        var entry = Get(name);
        var key = Key.Import(SignatureAlgorithm.Ed25519, Convert.FromBase64String(entry.PrivateKey), KeyBlobFormat.RawPrivateKey,
            new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None });
        return new StatementSigner(key);
    }

    public Task SaveAsync(CancellationToken cancellationToken = default) =>
        PrivateFile.WriteAllTextAsync(Path, JsonSerializer.Serialize(new Document(1, Default, _keys), ClientJson.Indented) + "\n", cancellationToken);
}
