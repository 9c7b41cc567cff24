using JasperFx.Events;
using Marketplace.Packages;
using Marketplace.Projections.Dependents;
using Marketplace.Signing;
using Marketplace.Web.Tests.Support;
using Marten;

namespace Marketplace.Web.Tests;

/// <summary>The dependents read model folded in memory: only the latest version's dependencies count.</summary>
public sealed class DependenciesProjectionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DsseEnvelope Envelope = new(PayloadTypes.Publish, "e30=", [new DsseSignature("k", "AA==")]);

    private static PackagePublished Published(string version, params string[] dependencies) =>
        new("app", "app", version, new string('a', 64), 1,
            new PackageManifest(Dependencies: dependencies.ToDictionary(d => d, _ => "^1.0.0")), "ed25519:k", "pk", Envelope, T0);

    private static DependenciesDocument Fold(params object[] events)
    {
        var projection = new DependenciesProjection();
        DependenciesDocument? doc = null;
        foreach (var data in events)
            doc = projection.Evolve(doc, "app", (IEvent)Activator.CreateInstance(typeof(Event<>).MakeGenericType(data.GetType()), data)!);
        return doc!;
    }

    [Fact]
    public void the_latest_version_decides_what_a_package_depends_on()
    {
        Assert.Equal(["left-pad", "right-pad"], Fold(Published("1.0.0", "Left_Pad", "right-pad")).LatestDependsOn);
        Assert.Equal(["right-pad"], Fold(Published("1.0.0", "left-pad"), Published("2.0.0", "right-pad")).LatestDependsOn);
        // A lower version published later does not become latest.
        Assert.Equal(["right-pad"], Fold(Published("2.0.0", "right-pad"), Published("1.5.0", "left-pad")).LatestDependsOn);
    }

    [Fact]
    public void yanking_the_latest_falls_back_and_unyanking_restores_it()
    {
        var yanked = Fold(Published("1.0.0", "left-pad"), Published("2.0.0", "right-pad"), new VersionYanked("app", "2.0.0", "bad", "ed25519:k", T0));
        Assert.Equal(["left-pad"], yanked.LatestDependsOn);
        Assert.Equal("1.0.0", yanked.Latest);
        var all = Fold(Published("1.0.0", "left-pad"), new VersionYanked("app", "1.0.0", "bad", "ed25519:k", T0));
        Assert.Empty(all.LatestDependsOn);
        var back = Fold(Published("1.0.0", "left-pad"), Published("2.0.0", "right-pad"),
            new VersionYanked("app", "2.0.0", "bad", "ed25519:k", T0), new VersionUnyanked("app", "2.0.0", "ed25519:k", T0));
        Assert.Equal(["right-pad"], back.LatestDependsOn);
    }

    [Fact]
    public void a_replayed_publish_is_applied_once() =>
        Assert.Single(Fold(Published("1.0.0", "left-pad"), Published("1.0.0", "left-pad")).Versions);
}

public sealed class DependentsRegistry : WebFixture;

/// <summary>The dependents read model on PostgreSQL through the daemon, and rebuilt from the log.</summary>
public sealed class DependentsScenarios(DependentsRegistry registry) : IClassFixture<DependentsRegistry>
{
    private async Task<string[]> DependentsOf(string name)
    {
        await using var session = registry.Store.QuerySession();
        return (await DependentsQuery.OfAsync(session, name, CancellationToken.None)).Select(d => d.Name).ToArray();
    }

    [Fact]
    public async Task dependents_follow_the_latest_version_through_publishes_and_yanks_and_survive_a_rebuild()
    {
        using var owner = StatementSigner.Generate();
        var lib = WebFixture.UniqueName("lib");
        var (a, b, c) = (WebFixture.UniqueName("a"), WebFixture.UniqueName("b"), WebFixture.UniqueName("c"));
        var on = new Dictionary<string, string> { [lib] = "^1.0.0" };
        await registry.PublishAsync(owner, lib, "1.0.0", WebFixture.Manifest("lib"));
        await registry.PublishAsync(owner, a, "1.0.0", WebFixture.Manifest("a", dependencies: on));
        await registry.PublishAsync(owner, b, "1.0.0", WebFixture.Manifest("b", dependencies: on));
        await registry.PublishAsync(owner, b, "2.0.0", WebFixture.Manifest("b without lib"));
        await registry.PublishAsync(owner, c, "1.0.0", WebFixture.Manifest("c", dependencies: on));
        await registry.PublishAsync(owner, c, "2.0.0", WebFixture.Manifest("c without lib"));
        await registry.YankAsync(owner, c, "2.0.0", "regression");
        await registry.CaughtUpAsync();

        var expected = new[] { a, c }.Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expected, await DependentsOf(lib));
        Assert.Empty(await DependentsOf(a));

        using (var daemon = await registry.Store.BuildProjectionDaemonAsync())
            await daemon.RebuildProjectionAsync<DependenciesProjection>(CancellationToken.None);
        Assert.Equal(expected, await DependentsOf(lib));
    }
}
