using Marketplace.Packages;
using Marketplace.Signing;

namespace Marketplace.UnitTests.Packages;

/// <summary>Given events (folded with <see cref="PackageState.Evolve"/>), when a command is decided, then events or an error.</summary>
public sealed class PackageDeciderTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private const string Name = "left-pad";

    private readonly StatementSigner _alice = StatementSigner.Generate();
    private readonly StatementSigner _bob = StatementSigner.Generate();
    private readonly StatementSigner _carol = StatementSigner.Generate();
    private PackageState? _state;
    private DateTimeOffset _now = T0;

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
        _carol.Dispose();
    }

    // Given / When / Then

    private void Given(params object[] events)
    {
        foreach (var e in events) _state = PackageState.Evolve(_state, e);
    }

    /// <summary>Decides, asserts acceptance, folds the events into the state and returns them.</summary>
    private object[] WhenAccepted(Func<PackageState?, DateTimeOffset, Outcome<object[]>> decide)
    {
        _now = _now.AddMinutes(1);
        var outcome = decide(_state, _now);
        Assert.False(outcome.IsError, outcome.Error?.Code);
        Given(outcome.Value!);
        return outcome.Value!;
    }

    /// <summary>Decides, asserts refusal with <paramref name="code"/>; the state is unchanged.</summary>
    private DomainError WhenRefused(string code, Func<PackageState?, DateTimeOffset, Outcome<object[]>> decide)
    {
        var outcome = decide(_state, _now);
        Assert.True(outcome.IsError, $"expected {code}, got {outcome.Value?.Length} events");
        Assert.Equal(code, outcome.Error!.Code);
        return outcome.Error;
    }

    // Commands

    private static Func<PackageState?, DateTimeOffset, Outcome<object[]>> Publish(StatementSigner signer, string version, string displayName = Name)
    {
        var v = SemanticVersion.Parse(version).Value!;
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(version)));
        var manifest = new PackageManifest(Description: "pads");
        var envelope = signer.Sign(PayloadTypes.Publish, new PublishStatement(displayName, version, sha, 10, manifest, T0));
        var command = new PackageDecider.Publish(Name, displayName, v, sha, 10, manifest, signer.Owner, envelope);
        return (state, now) => PackageDecider.Decide(state, command, now);
    }

    private static Func<PackageState?, DateTimeOffset, Outcome<object[]>> Yank(StatementSigner signer, string version, bool yanked = true, string? reason = "broken")
    {
        var command = new PackageDecider.Yank(Name, SemanticVersion.Parse(version).Value!, yanked, reason, signer.Owner);
        return (state, now) => PackageDecider.Decide(state, command, now);
    }

    private static Func<PackageState?, DateTimeOffset, Outcome<object[]>> AddOwner(StatementSigner signer, StatementSigner added)
    {
        var command = new PackageDecider.ChangeOwner(Name, Add: true, added.Owner.KeyId, added.Owner.PublicKey, signer.Owner);
        return (state, now) => PackageDecider.Decide(state, command, now);
    }

    private static Func<PackageState?, DateTimeOffset, Outcome<object[]>> RemoveOwner(StatementSigner signer, StatementSigner removed)
    {
        var command = new PackageDecider.ChangeOwner(Name, Add: false, removed.Owner.KeyId, null, signer.Owner);
        return (state, now) => PackageDecider.Decide(state, command, now);
    }

    private void GivenPublishedBy(StatementSigner signer, params string[] versions)
    {
        foreach (var v in versions) WhenAccepted(Publish(signer, v));
    }

    // Publish

    [Fact]
    public void the_first_publish_yields_owner_added_then_package_published_with_the_signer_as_owner()
    {
        var events = WhenAccepted(Publish(_alice, "1.0.0+b", displayName: "Left_Pad"));

        Assert.Collection(events,
            e =>
            {
                var added = Assert.IsType<OwnerAdded>(e);
                Assert.Equal(Name, added.Name);
                Assert.Equal(_alice.Owner.KeyId, added.KeyId);
                Assert.Equal(_alice.Owner.PublicKey, added.PublicKey);
                Assert.Equal(_alice.Owner.KeyId, added.AddedBy);
                Assert.Equal(_now, added.AddedAt);
            },
            e =>
            {
                var published = Assert.IsType<PackagePublished>(e);
                Assert.Equal(Name, published.Name);
                Assert.Equal("Left_Pad", published.DisplayName);
                Assert.Equal("1.0.0+b", published.Version);
                Assert.Equal("1.0.0", published.VersionKey);
                Assert.Equal(_alice.Owner.KeyId, published.KeyId);
                Assert.Equal(_alice.Owner.PublicKey, published.PublicKey);
                Assert.Equal(10, published.Size);
                Assert.Equal(_now, published.PublishedAt);
            });
        Assert.NotNull(_state);
        Assert.True(_state.IsOwner(_alice.Owner.KeyId));
        Assert.Single(_state.Owners);
        Assert.Equal("Left_Pad", _state.DisplayName);
        Assert.Equal(Name, _state.Id);
        Assert.Equal("1.0.0+b", _state.Versions["1.0.0"].Version);
        Assert.False(_state.Versions["1.0.0"].Yanked);
    }

    [Fact]
    public void an_owner_publishes_a_new_version_with_one_event()
    {
        GivenPublishedBy(_alice, "1.0.0");

        var events = WhenAccepted(Publish(_alice, "1.1.0"));

        var published = Assert.IsType<PackagePublished>(Assert.Single(events));
        Assert.Equal("1.1.0", published.Version);
        Assert.Equal(2, _state!.Versions.Count);
    }

    [Fact]
    public void the_first_spelling_published_is_kept_for_display()
    {
        WhenAccepted(Publish(_alice, "1.0.0", displayName: "Left_Pad"));
        WhenAccepted(Publish(_alice, "2.0.0", displayName: "left.pad"));

        Assert.Equal("Left_Pad", _state!.DisplayName);
    }

    [Fact]
    public void a_second_publish_by_a_non_owner_is_not_owner()
    {
        GivenPublishedBy(_alice, "1.0.0");

        var error = WhenRefused("not-owner", Publish(_bob, "2.0.0"));

        Assert.Equal(403, error.Status);
        Assert.False(_state!.Versions.ContainsKey("2.0.0"));
    }

    [Fact]
    public void a_non_owner_is_refused_even_for_an_existing_version()
    {
        GivenPublishedBy(_alice, "1.0.0");

        WhenRefused("not-owner", Publish(_bob, "1.0.0"));
    }

    [Theory]
    [InlineData("1.0.0", "1.0.0")]
    [InlineData("1.0.0", "1.0.0+b")]
    [InlineData("1.0.0+a", "1.0.0+b")]
    [InlineData("1.0.0+a", "1.0.0")]
    [InlineData("2.0.0-rc.1+x", "2.0.0-rc.1")]
    public void a_version_with_an_existing_key_is_version_exists(string first, string second)
    {
        GivenPublishedBy(_alice, first);

        var error = WhenRefused("version-exists", Publish(_alice, second));

        Assert.Equal(409, error.Status);
        Assert.Equal(first, _state!.Versions[SemanticVersion.Parse(first).Value!.Key].Version);
    }

    [Fact]
    public void a_prerelease_of_a_published_version_is_a_different_version()
    {
        GivenPublishedBy(_alice, "1.0.0");

        WhenAccepted(Publish(_alice, "1.0.0-rc.1"));

        Assert.Equal(2, _state!.Versions.Count);
    }

    // Yank and unyank

    [Fact]
    public void yanking_a_published_version_yields_version_yanked()
    {
        GivenPublishedBy(_alice, "1.0.0+build");

        var events = WhenAccepted(Yank(_alice, "1.0.0", reason: "CVE-2025-0001"));

        var yanked = Assert.IsType<VersionYanked>(Assert.Single(events));
        Assert.Equal(Name, yanked.Name);
        Assert.Equal("1.0.0", yanked.VersionKey);
        Assert.Equal("CVE-2025-0001", yanked.Reason);
        Assert.Equal(_alice.Owner.KeyId, yanked.KeyId);
        Assert.True(_state!.Versions["1.0.0"].Yanked);
    }

    [Fact]
    public void a_yank_names_a_version_by_its_key_whatever_its_build_metadata()
    {
        GivenPublishedBy(_alice, "1.0.0+a");

        var events = WhenAccepted(Yank(_alice, "1.0.0+zzz"));

        Assert.Equal("1.0.0", Assert.IsType<VersionYanked>(Assert.Single(events)).VersionKey);
    }

    [Fact]
    public void yanking_a_yanked_version_yields_no_events()
    {
        GivenPublishedBy(_alice, "1.0.0");
        WhenAccepted(Yank(_alice, "1.0.0"));

        Assert.Empty(WhenAccepted(Yank(_alice, "1.0.0")));
    }

    [Fact]
    public void unyanking_a_yanked_version_yields_version_unyanked()
    {
        GivenPublishedBy(_alice, "1.0.0");
        WhenAccepted(Yank(_alice, "1.0.0"));

        var events = WhenAccepted(Yank(_alice, "1.0.0", yanked: false));

        var unyanked = Assert.IsType<VersionUnyanked>(Assert.Single(events));
        Assert.Equal("1.0.0", unyanked.VersionKey);
        Assert.False(_state!.Versions["1.0.0"].Yanked);
    }

    [Fact]
    public void unyanking_a_version_that_is_not_yanked_yields_no_events()
    {
        GivenPublishedBy(_alice, "1.0.0");

        Assert.Empty(WhenAccepted(Yank(_alice, "1.0.0", yanked: false)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void yank_or_unyank_of_an_unknown_version_is_not_found(bool yanked)
    {
        GivenPublishedBy(_alice, "1.0.0");

        var error = WhenRefused("not-found", Yank(_alice, "1.0.1", yanked));

        Assert.Equal(404, error.Status);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void yank_or_unyank_of_an_unknown_package_is_not_found(bool yanked) =>
        WhenRefused("not-found", Yank(_alice, "1.0.0", yanked));

    [Fact]
    public void a_non_owner_cannot_yank()
    {
        GivenPublishedBy(_alice, "1.0.0");

        WhenRefused("not-owner", Yank(_bob, "1.0.0"));
        WhenRefused("not-owner", Yank(_bob, "9.9.9"));
    }

    // Owners

    [Fact]
    public void an_owner_adding_an_owner_yields_owner_added()
    {
        GivenPublishedBy(_alice, "1.0.0");

        var events = WhenAccepted(AddOwner(_alice, _bob));

        var added = Assert.IsType<OwnerAdded>(Assert.Single(events));
        Assert.Equal(Name, added.Name);
        Assert.Equal(_bob.Owner.KeyId, added.KeyId);
        Assert.Equal(_bob.Owner.PublicKey, added.PublicKey);
        Assert.Equal(_alice.Owner.KeyId, added.AddedBy);
        Assert.Equal(2, _state!.Owners.Count);
        Assert.Equal(_bob.Owner.PublicKey, _state.Owners[_bob.Owner.KeyId]);
    }

    [Fact]
    public void an_added_owner_may_publish()
    {
        GivenPublishedBy(_alice, "1.0.0");
        WhenAccepted(AddOwner(_alice, _bob));

        var events = WhenAccepted(Publish(_bob, "1.1.0"));

        Assert.Equal(_bob.Owner.KeyId, Assert.IsType<PackagePublished>(Assert.Single(events)).KeyId);
    }

    [Fact]
    public void adding_an_existing_owner_yields_no_events()
    {
        GivenPublishedBy(_alice, "1.0.0");
        WhenAccepted(AddOwner(_alice, _bob));

        Assert.Empty(WhenAccepted(AddOwner(_alice, _bob)));
        Assert.Empty(WhenAccepted(AddOwner(_bob, _alice)));
        Assert.Empty(WhenAccepted(AddOwner(_alice, _alice)));
    }

    [Fact]
    public void removing_the_last_owner_is_last_owner()
    {
        GivenPublishedBy(_alice, "1.0.0");

        var error = WhenRefused("last-owner", RemoveOwner(_alice, _alice));

        Assert.Equal(409, error.Status);
        Assert.True(_state!.IsOwner(_alice.Owner.KeyId));
    }

    [Fact]
    public void removing_down_to_the_last_owner_is_refused_there()
    {
        GivenPublishedBy(_alice, "1.0.0");
        WhenAccepted(AddOwner(_alice, _bob));

        var events = WhenAccepted(RemoveOwner(_bob, _alice));

        var removed = Assert.IsType<OwnerRemoved>(Assert.Single(events));
        Assert.Equal(_alice.Owner.KeyId, removed.KeyId);
        Assert.Equal(_bob.Owner.KeyId, removed.RemovedBy);
        Assert.False(_state!.IsOwner(_alice.Owner.KeyId));
        WhenRefused("last-owner", RemoveOwner(_bob, _bob));
    }

    [Fact]
    public void an_owner_may_remove_itself_while_another_owner_remains()
    {
        GivenPublishedBy(_alice, "1.0.0");
        WhenAccepted(AddOwner(_alice, _bob));

        WhenAccepted(RemoveOwner(_alice, _alice));

        Assert.Equal([_bob.Owner.KeyId], _state!.Owners.Keys);
        WhenRefused("not-owner", Publish(_alice, "2.0.0"));
    }

    [Fact]
    public void removing_a_key_that_is_not_an_owner_is_not_found()
    {
        GivenPublishedBy(_alice, "1.0.0");
        WhenAccepted(AddOwner(_alice, _bob));

        var error = WhenRefused("not-found", RemoveOwner(_alice, _carol));

        Assert.Equal(404, error.Status);
    }

    [Fact]
    public void a_non_owner_cannot_change_owners()
    {
        GivenPublishedBy(_alice, "1.0.0");

        WhenRefused("not-owner", AddOwner(_bob, _bob));
        WhenRefused("not-owner", AddOwner(_bob, _carol));
        WhenRefused("not-owner", RemoveOwner(_bob, _alice));
        WhenRefused("not-owner", RemoveOwner(_bob, _carol));
    }

    [Fact]
    public void a_removed_owner_cannot_change_owners_or_yank()
    {
        GivenPublishedBy(_alice, "1.0.0");
        WhenAccepted(AddOwner(_alice, _bob));
        WhenAccepted(RemoveOwner(_alice, _bob));

        WhenRefused("not-owner", AddOwner(_bob, _bob));
        WhenRefused("not-owner", Yank(_bob, "1.0.0"));
    }

    [Fact]
    public void owner_changes_on_an_unknown_package_are_not_found()
    {
        WhenRefused("not-found", AddOwner(_alice, _bob));
        WhenRefused("not-found", RemoveOwner(_alice, _alice));
    }

    // Evolve

    [Fact]
    public void evolve_ignores_events_it_cannot_apply()
    {
        Assert.Null(PackageState.Evolve(null, new VersionYanked(Name, "1.0.0", null, "k", T0)));
        Assert.Null(PackageState.Evolve(null, new OwnerRemoved(Name, "k", "k", T0)));
        Assert.Null(PackageState.Evolve(null, "not an event"));

        GivenPublishedBy(_alice, "1.0.0");
        var before = _state;
        Given(new VersionYanked(Name, "9.9.9", null, "k", T0), new VersionUnyanked(Name, "9.9.9", "k", T0));
        Assert.Same(before, _state);
    }
}
