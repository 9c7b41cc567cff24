using Marketplace.Packages;

namespace Marketplace.Webhooks;

/// <summary>
/// Pure decisions over a subscription stream. Who may act: on create, a package scope needs an owner key of that
/// package, an owner scope that very key, a registry scope any key; afterwards only the creating key may change the
/// subscription, or, for a package scope, any current owner of the package. Download events registry-wide (one delivery
/// per download anywhere: an amplifier) only for keys the operator allowed; per package they need an owner anyway.
/// </summary>
public static class WebhookDecider
{
    public sealed record Create(Guid Id, WebhookScope Scope, WebhookUrl Url, IReadOnlyList<string> EventTypes, string KeyId);

    /// <summary>Null fields keep their current value.</summary>
    public sealed record Update(WebhookUrl? Url, IReadOnlyList<string>? EventTypes, string KeyId);

    public sealed record Remove(string KeyId);

    /// <param name="package">The scope's package snapshot (package scopes only).</param>
    /// <param name="liveForKey">How many live subscriptions the signing key created already.</param>
    /// <param name="downloadsAllowed">Whether the operator allowed the signing key registry-wide download events.</param>
    public static Outcome<object[]> Decide(
        PackageState? package, Create c, int liveForKey, int maxPerKey, DateTimeOffset now, bool downloadsAllowed = false)
    {
        switch (c.Scope.Kind)
        {
            case WebhookScope.Package when package is null:
                return DomainError.NotFound($"Package {c.Scope.Name} does not exist.");
            case WebhookScope.Package when !package.IsOwner(c.KeyId):
                return DomainError.NotOwner(c.Scope.Name!, c.KeyId);
            case WebhookScope.Owner when c.Scope.KeyId != c.KeyId:
                return new DomainError("not-owner", 403, "The key is not the scope's owner key",
                    $"An owner scope is created by that owner key ({c.Scope.KeyId}), not by {c.KeyId}.");
        }
        if (RefusesDownloads(c.Scope, c.EventTypes, c.KeyId, downloadsAllowed) is { } downloads)
            return downloads;
        if (liveForKey >= maxPerKey)
            return WebhookErrors.SubscriptionLimit(c.KeyId, maxPerKey);
        return new object[] { new WebhookCreated(c.Id, c.Scope, c.Url.Origin, c.Url.Sha256, c.EventTypes, c.KeyId, now) };
    }

    /// <summary>Registry-wide download events need a key the operator allowed; null when the subscription may have them.</summary>
    public static DomainError? RefusesDownloads(WebhookScope scope, IReadOnlyList<string> eventTypes, string keyId, bool downloadsAllowed) =>
        scope.Kind == WebhookScope.Registry && eventTypes.Contains(WebhookRules.DownloadedType, StringComparer.Ordinal) && !downloadsAllowed
            ? WebhookErrors.DownloadEventsNotAllowed(keyId)
            : null;

    /// <summary>Whether <paramref name="keyId"/> may update, remove or redeliver; null when it may.</summary>
    public static DomainError? MayManage(WebhookState? state, PackageState? package, Guid id, string keyId)
    {
        if (state is null || state.IsRemoved)
            return WebhookErrors.NotFound(id);
        if (state.KeyId == keyId)
            return null;
        if (state.Scope.Kind == WebhookScope.Package && package?.IsOwner(keyId) == true)
            return null;
        return WebhookErrors.NotSubscriptionOwner(id, keyId);
    }

    public static Outcome<object[]> Decide(
        WebhookState? state, PackageState? package, Guid id, Update c, DateTimeOffset now, bool downloadsAllowed = false)
    {
        if (MayManage(state, package, id, c.KeyId) is { } refused) return refused;
        if (c.EventTypes is { } listed && RefusesDownloads(state!.Scope, listed, c.KeyId, downloadsAllowed) is { } downloads) return downloads;
        var origin = c.Url?.Origin ?? state!.UrlOrigin;
        var sha = c.Url?.Sha256 ?? state!.UrlSha256;
        var types = c.EventTypes ?? [.. state!.EventTypes];
        // The same values on a live subscription change nothing (the statement is still spent).
        if (state!.Status == WebhookState.Active && origin == state.UrlOrigin && sha == state.UrlSha256 && types.SequenceEqual(state.EventTypes))
            return Array.Empty<object>();
        return new object[] { new WebhookUpdated(id, origin, sha, types, c.KeyId, now) };
    }

    public static Outcome<object[]> Decide(WebhookState? state, PackageState? package, Guid id, Remove c, DateTimeOffset now)
    {
        if (MayManage(state, package, id, c.KeyId) is { } refused) return refused;
        return new object[] { new WebhookRemoved(id, c.KeyId, now) };
    }
}
