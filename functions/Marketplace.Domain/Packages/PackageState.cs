using System.Collections.Immutable;
using Marketplace.TrustedPublishing;

namespace Marketplace.Packages;

/// <summary>What a package's invariants need, and no more: its versions (by key), which are yanked, its owner keys.</summary>
public sealed record PackageState(
    string Id,
    string DisplayName,
    ImmutableDictionary<string, PublishedVersion> Versions,
    ImmutableDictionary<string, string> Owners)
{
    /// <summary>The CI workflows owners named (trusted publishing); properties, so snapshots stored before them still read.</summary>
    public ImmutableList<TrustedPublisher> TrustedPublishers { get; init; } = ImmutableList<TrustedPublisher>.Empty;

    /// <summary>Owner-key-signed publishes are refused while this is on.</summary>
    public bool RequireTrustedPublishing { get; init; }

    /// <summary>
    /// The events <see cref="Evolve"/> changes the state on. The inline snapshot is folded from these only: a session
    /// appending anything else (a download group, a certificate issued) neither loads nor rewrites it.
    /// </summary>
    public static readonly IReadOnlyList<Type> EvolvedBy =
    [
        typeof(OwnerAdded), typeof(OwnerRemoved), typeof(PackagePublished), typeof(VersionYanked), typeof(VersionUnyanked),
        typeof(TrustedPublisherAdded), typeof(TrustedPublisherRemoved), typeof(TrustedPublishingRequirementSet),
    ];

    public static PackageState? Evolve(PackageState? state, object @event) => @event switch
    {
        OwnerAdded e => (state ?? new PackageState(
                e.Name, e.Name, ImmutableDictionary<string, PublishedVersion>.Empty, ImmutableDictionary<string, string>.Empty))
            with { Owners = (state?.Owners ?? ImmutableDictionary<string, string>.Empty).SetItem(e.KeyId, e.PublicKey) },
        OwnerRemoved e when state is not null => state with { Owners = state.Owners.Remove(e.KeyId) },
        PackagePublished e when state is not null => state with
        {
            DisplayName = state.Versions.IsEmpty ? e.DisplayName : state.DisplayName,
            Versions = state.Versions.SetItem(e.VersionKey, new PublishedVersion(e.Version, e.Sha256, e.Size, Yanked: false)),
        },
        VersionYanked e when state?.Versions.TryGetValue(e.VersionKey, out var v) == true =>
            state with { Versions = state.Versions.SetItem(e.VersionKey, v with { Yanked = true }) },
        VersionUnyanked e when state?.Versions.TryGetValue(e.VersionKey, out var v) == true =>
            state with { Versions = state.Versions.SetItem(e.VersionKey, v with { Yanked = false }) },
        TrustedPublisherAdded e when state is not null => state with { TrustedPublishers = (state.TrustedPublishers ?? []).Add(e.Publisher) },
        TrustedPublisherRemoved e when state is not null =>
            state with { TrustedPublishers = (state.TrustedPublishers ?? []).RemoveAll(p => p.SameAs(e.Publisher)) },
        TrustedPublishingRequirementSet e when state is not null => state with { RequireTrustedPublishing = e.Required },
        _ => state,
    };

    public bool IsOwner(string keyId) => Owners.ContainsKey(keyId);
}

public sealed record PublishedVersion(string Version, string Sha256, long Size, bool Yanked);
