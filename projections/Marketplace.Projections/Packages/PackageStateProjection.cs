using JasperFx.Events;
using Marketplace.Packages;
using Marten.Events.Aggregation;

namespace Marketplace.Projections.Packages;

/// <summary>
/// The decider state of a package stream, kept inline (in the same transaction as the events) so publish,
/// yank and owner changes decide against a snapshot, and downloads can resolve a version without replaying.
/// </summary>
public sealed partial class PackageStateProjection : SingleStreamProjection<PackageState, string>
{
    /// <summary>
    /// Only the package events: an <c>Evolve(IEvent)</c> projection that declares no types applies to every stream, so
    /// without this each download group and subscription change loaded (and wrote back) a package snapshot too.
    /// </summary>
    public PackageStateProjection()
    {
        foreach (var type in PackageState.EvolvedBy) IncludeType(type);
    }

    public override PackageState? Evolve(PackageState? snapshot, string id, IEvent e) =>
        PackageState.Evolve(snapshot, e.Data);
}
