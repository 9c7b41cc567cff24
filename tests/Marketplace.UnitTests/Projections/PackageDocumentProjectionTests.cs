using JasperFx.Events;
using Marketplace.Packages;
using Marketplace.Projections.Packages;
using Marketplace.Signing;

namespace Marketplace.UnitTests.Projections;

/// <summary>The document fold, driven in memory with hand-made events (no Marten store).</summary>
public class PackageDocumentProjectionTests
{
    private static readonly DateTimeOffset T0 = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DsseEnvelope Envelope = new(PayloadTypes.Publish, "e30=", [new DsseSignature("k", "AA==")]);

    private static PackagePublished Published(string version, string displayName = "left-pad") =>
        new("left-pad", displayName, version, new string('a', 64), 1, new PackageManifest(), "ed25519:k", "pk", Envelope, T0);

    private static PackageDocument? Fold(params object[] events)
    {
        var projection = new PackageDocumentProjection();
        PackageDocument? doc = null;
        var i = 0;
        foreach (var data in events)
        {
            var e = (IEvent)Activator.CreateInstance(typeof(Event<>).MakeGenericType(data.GetType()), data)!;
            e.Timestamp = T0.AddMinutes(i++);
            doc = projection.Evolve(doc, "left-pad", e);
        }
        return doc;
    }

    [Fact]
    public void versions_are_kept_in_precedence_order_and_latest_follows_yanks()
    {
        var doc = Fold(
            new OwnerAdded("left-pad", "ed25519:k", "pk", "ed25519:k", T0),
            Published("1.9.0", displayName: "Left_Pad"),
            Published("1.10.0", displayName: "left.pad"),
            Published("1.0.0"),
            Published("2.0.0-rc.1"),
            new VersionYanked("left-pad", "1.10.0", "broken", "ed25519:k", T0))!;

        Assert.Equal(["1.0.0", "1.9.0", "1.10.0", "2.0.0-rc.1"], doc.Versions.Select(v => v.Version));
        Assert.Equal("Left_Pad", doc.DisplayName);
        Assert.Equal("1.9.0", doc.Latest);
        Assert.True(doc.Versions.Single(v => v.Version == "1.10.0").Yanked);

        var unyanked = Fold(
            Published("1.9.0"),
            Published("1.10.0"),
            new VersionYanked("left-pad", "1.10.0", null, "ed25519:k", T0),
            new VersionUnyanked("left-pad", "1.10.0", "ed25519:k", T0))!;
        Assert.Equal("1.10.0", unyanked.Latest);
    }

    [Fact]
    public void a_yank_by_version_key_reaches_a_version_published_with_build_metadata()
    {
        var doc = Fold(Published("1.0.0+build.5"), new VersionYanked("left-pad", "1.0.0", null, "ed25519:k", T0))!;

        Assert.True(Assert.Single(doc.Versions).Yanked);
        Assert.Null(doc.Latest);
    }

    [Fact]
    public void owners_are_folded_and_times_follow_the_events()
    {
        var doc = Fold(
            new OwnerAdded("left-pad", "a", "pa", "a", T0),
            new OwnerAdded("left-pad", "b", "pb", "a", T0),
            new OwnerRemoved("left-pad", "a", "b", T0),
            Published("1.0.0"))!;

        Assert.Equal("b", Assert.Single(doc.Owners).KeyId);
        Assert.Equal(T0.AddMinutes(3), doc.UpdatedAt);
        Assert.Equal(T0, doc.CreatedAt);
    }
}
