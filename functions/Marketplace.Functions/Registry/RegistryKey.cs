using Marketplace.Functions.Serverless;
using Marketplace.Signing;
using NSec.Cryptography;

namespace Marketplace.Functions.Registry;

/// <summary>
/// The registry's own Ed25519 key (checkpoints, webhook v1a signatures): a base64 32-byte seed from
/// <c>Registry:SigningKey</c> (local runs; Azure, where a Key Vault reference fills it) or from the AWS Secrets
/// Manager secret named by <c>Registry:SigningKeySecretArn</c> (one SigV4-signed call, as for the database). Without
/// either, only the Development environment makes a throwaway key; any other environment fails at start
/// (<see cref="RegistryKeyCheck"/>) — unless the process says it never signs (<c>Registry:SigningKeyRequired=false</c>,
/// the functions that serve neither /.well-known, checkpoints nor webhook deliveries), where using the key throws.
/// </summary>
public sealed class RegistryKey : IDisposable
{
    public const string SeedKey = "Registry:SigningKey";
    public const string SecretArnKey = "Registry:SigningKeySecretArn";
    public const string RequiredKey = "Registry:SigningKeyRequired";

    private readonly Key? _key;
    private readonly OwnerKey? _public;

    public RegistryKey(IConfiguration configuration, IHostEnvironment environment)
        : this(Seed(configuration, environment,
            arn => DatabaseConnection.ReadSecret(arn, configuration["Registry:SecretsEndpoint"], credentials: null)))
    {
    }

    private RegistryKey(string? seed)
    {
        if (seed is null) return;
        var creation = new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None };
        _key = seed.Length > 0
            ? Key.Import(SignatureAlgorithm.Ed25519, Convert.FromBase64String(seed), KeyBlobFormat.RawPrivateKey, creation)
            : new Key(SignatureAlgorithm.Ed25519, creation);
        var raw = _key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        _public = new OwnerKey(OwnerKey.KeyIdOf(raw), Convert.ToBase64String(raw));
    }

    /// <summary>
    /// The seed: configured, read from the secret, "" for a throwaway key (Development only), or null where the
    /// process holds no key by declaration. Throws, naming the settings, where a key is needed and none is given.
    /// </summary>
    public static string? Seed(IConfiguration configuration, IHostEnvironment environment, Func<string, string> readSecret)
    {
        if (configuration[SeedKey] is { Length: > 0 } seed) return seed.Trim();
        if (configuration[SecretArnKey] is { Length: > 0 } arn) return readSecret(arn).Trim();
        if (environment.IsDevelopment()) return "";
        if (!configuration.GetValue(RequiredKey, true)) return null;
        throw new InvalidOperationException(
            $"The registry signing key is not configured (environment {environment.EnvironmentName}): " +
            $"set {SeedKey} (a base64 32-byte Ed25519 seed; " +
            $"on Azure a Key Vault reference) or {SecretArnKey} (an AWS Secrets Manager secret holding it). Clients pin this key, so a " +
            $"throwaway one is made only in Development; a process that never signs says so with {RequiredKey}=false.");
    }

    public static RegistryKey FromSeed(string? seed) => new(seed);

    public bool Present => _key is not null;

    public Key Key => _key ?? throw Absent();
    public OwnerKey Public => _public ?? throw Absent();

    private static InvalidOperationException Absent() =>
        new($"This process holds no registry signing key ({RequiredKey}=false): " +
            $"route what signs to a function that has {SeedKey} or {SecretArnKey}.");

    public void Dispose() => _key?.Dispose();
}

/// <summary>Builds the registry key when the host starts, so a missing key stops the start, not the first checkpoint.</summary>
public sealed class RegistryKeyCheck(RegistryKey key, ILogger<RegistryKeyCheck> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (key.Present) logger.LogInformation("Registry key {KeyId} loaded.", key.Public.KeyId);
        else logger.LogInformation("No registry key in this process ({Setting}=false).", RegistryKey.RequiredKey);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
