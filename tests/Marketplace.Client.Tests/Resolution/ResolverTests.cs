using Marketplace.Client.Resolution;

namespace Marketplace.Client.Tests.Resolution;

public sealed class ResolverTests
{
    private static Task<DependencyGraph> Resolve(TableSource source, IReadOnlyDictionary<string, string>? locked = null, params (string Name, string Range)[] roots) =>
        new Resolver(source).ResolveAsync(roots.ToDictionary(r => r.Name, r => r.Range), locked);

    private static string Chosen(DependencyGraph graph) => string.Join(" ", graph.Packages.Select(p => $"{p.Name}@{p.Version}"));

    private static TableSource Lib() => new TableSource()
        .Add("lib", "0.9.0").Add("lib", "1.0.0").Add("lib", "1.2.0").Add("lib", "1.2.5").Add("lib", "1.10.0")
        .Add("lib", "2.0.0-rc.1").Add("lib", "2.0.0").Add("lib", "2.1.0").Add("lib", "3.0.0-beta.2");

    [Theory]
    [InlineData("^1.0.0", "1.10.0")]
    [InlineData("^1.2.1", "1.10.0")]
    [InlineData("~1.2.0", "1.2.5")]
    [InlineData("1.2.x", "1.2.5")]
    [InlineData("1.x", "1.10.0")]
    [InlineData("*", "2.1.0")]
    [InlineData(">=1.0.0 <2", "1.10.0")]
    [InlineData("1.0.0 - 1.2", "1.2.5")]
    [InlineData("<1 || ~2.0", "2.0.0")]
    [InlineData("^0.9", "0.9.0")]
    [InlineData("=1.2.0", "1.2.0")]
    public async Task npm_ranges_pick_the_highest_compatible_version(string range, string expected) =>
        Assert.Equal($"lib@{expected}", Chosen(await Resolve(Lib(), null, ("lib", range))));

    [Theory]
    [InlineData("^2.0.0-rc.0", "2.1.0")]              // a pre-release range still prefers the stable release above it
    [InlineData(">=2.0.0-rc.0 <2.0.0", "2.0.0-rc.1")] // a pre-release of the same major.minor.patch matches
    [InlineData("^3.0.0-alpha", "3.0.0-beta.2")]
    [InlineData("~2.0.0-rc.1", "2.0.0")]
    public async Task a_prerelease_matches_only_a_range_naming_a_prerelease_of_the_same_version(string range, string expected) =>
        Assert.Equal($"lib@{expected}", Chosen(await Resolve(Lib(), null, ("lib", range))));

    [Theory]
    [InlineData(">=2.1.0")]  // 3.0.0-beta.2 is above, but no comparator names a 3.0.0 pre-release
    [InlineData("*")]
    public async Task prereleases_are_not_picked_by_ranges_without_one(string range) =>
        Assert.DoesNotContain("beta", Chosen(await Resolve(Lib(), null, ("lib", range))), StringComparison.Ordinal);

    [Fact]
    public async Task a_range_that_only_prereleases_of_another_version_would_match_finds_nothing()
    {
        var e = await Assert.ThrowsAsync<ResolutionException>(() => Resolve(Lib(), null, ("lib", ">2.1.0 <3.0.0")));
        Assert.Equal(ClientErrorCodes.NoMatchingVersion, e.Code);
        Assert.Contains("the install requires lib >2.1.0 <3.0.0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task a_three_level_graph_resolves_each_package_once_at_its_highest_fit()
    {
        var source = new TableSource()
            .Add("app", "1.0.0", ("mid", "^1"), ("util", "^1.1"))
            .Add("mid", "1.0.0", ("leaf", "^1.0.0")).Add("mid", "1.4.0", ("leaf", "~1.1"), ("util", "^1"))
            .Add("util", "1.0.0").Add("util", "1.1.0").Add("util", "1.3.0")
            .Add("leaf", "1.0.0").Add("leaf", "1.1.0").Add("leaf", "1.1.4").Add("leaf", "1.2.0");
        var graph = await Resolve(source, null, ("app", "^1"));
        Assert.Equal("app@1.0.0 leaf@1.1.4 mid@1.4.0 util@1.3.0", Chosen(graph));
        Assert.Equal("~1.1", graph.Find("mid")!.Dependencies["leaf"]);
    }

    [Fact]
    public async Task yanked_versions_are_skipped_unless_the_lockfile_has_them()
    {
        var source = Lib().Yank("lib", "1.10.0");
        Assert.Equal("lib@1.2.5", Chosen(await Resolve(source, null, ("lib", "^1"))));
        Assert.Equal("lib@1.10.0", Chosen(await Resolve(source, new Dictionary<string, string> { ["lib"] = "1.10.0" }, ("lib", "^1"))));
        var only = await Assert.ThrowsAsync<ResolutionException>(() => Resolve(source, null, ("lib", "~1.10")));
        Assert.Contains("only yanked versions match (1.10.0)", only.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task a_locked_version_is_kept_while_it_fits_and_replaced_when_it_no_longer_does()
    {
        var locked = new Dictionary<string, string> { ["lib"] = "1.2.0" };
        Assert.Equal("lib@1.2.0", Chosen(await Resolve(Lib(), locked, ("lib", "^1"))));
        Assert.Equal("lib@2.1.0", Chosen(await Resolve(Lib(), locked, ("lib", "^2"))));
    }

    [Fact]
    public async Task a_conflict_names_the_requirement_paths_that_caused_it()
    {
        var source = new TableSource()
            .Add("app", "1.0.0", ("left", "1"), ("right", "1"))
            .Add("left", "1.0.0", ("shared", "^1"))
            .Add("right", "1.0.0", ("deep", "^1"))
            .Add("deep", "1.0.0", ("shared", "^2"))
            .Add("shared", "1.0.0").Add("shared", "2.0.0");
        var e = await Assert.ThrowsAsync<ResolutionException>(() => Resolve(source, null, ("app", "1")));
        Assert.Equal(ClientErrorCodes.Conflict, e.Code);
        Assert.Contains("shared@1.0.0 was chosen because root → app@1.0.0 → left@1.0.0 requires shared ^1", e.Message, StringComparison.Ordinal);
        Assert.Contains("but root → app@1.0.0 → right@1.0.0 → deep@1.0.0 requires shared ^2; no version of shared satisfies both", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task backtracking_finds_an_older_version_whose_dependencies_fit()
    {
        var source = new TableSource()
            .Add("app", "1.0.0", ("a", "*"), ("b", "*"))
            .Add("a", "1.0.0", ("c", "^1")).Add("a", "2.0.0", ("c", "^2"))
            .Add("b", "1.0.0", ("c", "^1"))
            .Add("c", "1.0.0").Add("c", "2.0.0");
        Assert.Equal("a@1.0.0 app@1.0.0 b@1.0.0 c@1.0.0", Chosen(await Resolve(source, null, ("app", "*"))));
    }

    [Fact]
    public async Task a_cycle_is_reported_with_its_path()
    {
        var source = new TableSource()
            .Add("app", "1.0.0", ("a", "^1"))
            .Add("a", "1.0.0", ("b", "^1"))
            .Add("b", "1.0.0", ("c", "^1"))
            .Add("c", "1.0.0", ("a", "^1"));
        var e = await Assert.ThrowsAsync<ResolutionException>(() => Resolve(source, null, ("app", "^1")));
        Assert.Equal(ClientErrorCodes.Cycle, e.Code);
        Assert.Contains("a@1.0.0 → b@1.0.0 → c@1.0.0 → a@1.0.0", e.Message, StringComparison.Ordinal);
        Assert.Contains("reached through root → app@1.0.0 → a@1.0.0", e.Message, StringComparison.Ordinal);
        var self = await Assert.ThrowsAsync<ResolutionException>(() => Resolve(new TableSource().Add("me", "1.0.0", ("me", "*")), null, ("me", "*")));
        Assert.Contains("me@1.0.0 → me@1.0.0", self.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task an_unknown_dependency_names_who_required_it()
    {
        var e = await Assert.ThrowsAsync<ResolutionException>(() => Resolve(new TableSource().Add("app", "1.0.0", ("ghost", "^1")), null, ("app", "*")));
        Assert.Equal(ClientErrorCodes.UnknownPackage, e.Code);
        Assert.Contains("root → app@1.0.0 requires ghost ^1, but the registry has no package ghost", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task dependency_names_are_compared_after_normalisation()
    {
        var source = new TableSource().Add("app", "1.0.0", ("My_Lib", "^1"), ("other", "*")).Add("other", "1.0.0", ("my.lib", "~1.0")).Add("my-lib", "1.0.3");
        Assert.Equal("app@1.0.0 my-lib@1.0.3 other@1.0.0", Chosen(await Resolve(source, null, ("App", "*"))));
    }

    [Fact]
    public async Task an_invalid_range_is_refused_before_anything_is_fetched()
    {
        var source = Lib();
        var e = await Assert.ThrowsAsync<ResolutionException>(() => Resolve(source, null, ("lib", "^^1")));
        Assert.Equal(ClientErrorCodes.InvalidRange, e.Code);
        Assert.Equal(0, source.Calls);
    }
}
