using Marketplace.Client;
using Marketplace.Client.Keys;

namespace Marketplace.Cli;

/// <summary>
/// Where things are: the registry (<c>--registry</c>, <c>MKT_REGISTRY</c>, default http://127.0.0.1:5080), the keyring
/// (<c>--keyring</c>, <c>MKT_KEYRING</c>, default <c>~/.config/mkt/keys.json</c>) and the client state with the pinned
/// registry keys and kept checkpoints (<c>--state</c>, <c>MKT_STATE</c>, default <c>~/.config/mkt/state.json</c>);
/// <c>MKT_HOME</c> or <c>XDG_CONFIG_HOME</c> move the default folder.
/// </summary>
internal sealed class Settings(CliContext context, string? registry, string? keyring, string? state)
{
    public CliContext Context { get; } = context;

    public Uri Registry
    {
        get
        {
            var text = registry ?? Context.Variable("MKT_REGISTRY") ?? MarketplaceClientOptions.DefaultRegistry;
            return Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
                ? uri
                : throw new UsageException($"'{text}' is not a registry URL (http:// or https://).");
        }
    }

    public string Home =>
        Context.Variable("MKT_HOME") is { } home ? Context.Resolve(home)
        : Context.Variable("XDG_CONFIG_HOME") is { } xdg ? Path.Combine(Context.Resolve(xdg), "mkt")
        : Path.Combine(Context.Variable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "mkt");

    public string KeyringPath => Context.Resolve(keyring ?? Context.Variable("MKT_KEYRING") ?? Path.Combine(Home, "keys.json"));

    public string StatePath => Context.Resolve(state ?? Context.Variable("MKT_STATE") ?? Path.Combine(Home, "state.json"));

    public Task<Keyring> KeyringAsync(CancellationToken cancellationToken) => Keyring.LoadAsync(KeyringPath, cancellationToken);

    public MarketplaceClient Client() => MarketplaceClient.CreateBuilder()
        .WithRegistry(Registry)
        .WithTrustStoreFile(StatePath)
        .WithUserAgent("mkt/" + typeof(Settings).Assembly.GetName().Version?.ToString(3))
        .Build();
}
