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
    public override PackageState? Evolve(PackageState? snapshot, string id, IEvent e) =>
        PackageState.Evolve(snapshot, e.Data);
}
