using Marketplace.Packages;
using Marketplace.Projections.Packages;

namespace Marketplace.UnitTests.Projections;

public class PackageDocumentLatestTests
{
    private static PackageVersionEntry V(string version, bool yanked = false) => new() { Version = version, Yanked = yanked };

    // The projection keeps versions in ascending precedence; LatestOf relies on that order.
    private static string? Latest(PackageVersionEntry[] versions) =>
        PackageDocument.LatestOf(versions.OrderBy(v => SemanticVersion.Parse(v.Version).Value!).ToList());

    [Fact]
    public void latest_is_the_highest_non_yanked_stable_version()
    {
        Assert.Equal("1.2.0", Latest([V("1.0.0"), V("1.2.0"), V("1.1.0"), V("2.0.0-rc.1"), V("1.3.0", yanked: true)]));
    }

    [Fact]
    public void a_stable_version_beats_a_higher_prerelease()
    {
        Assert.Equal("1.0.0", Latest([V("2.0.0-beta"), V("1.0.0"), V("3.0.0-alpha.1")]));
    }

    [Fact]
    public void without_a_stable_version_latest_is_the_highest_non_yanked_prerelease()
    {
        Assert.Equal("1.0.0-beta.2", Latest([V("1.0.0-alpha"), V("1.0.0-beta.2"), V("1.0.0-beta.11", yanked: true), V("1.0.0-beta")]));
    }

    [Fact]
    public void when_every_stable_version_is_yanked_latest_falls_back_to_a_prerelease()
    {
        Assert.Equal("2.0.0-rc.1", Latest([V("1.0.0", yanked: true), V("2.0.0-rc.1"), V("1.1.0", yanked: true)]));
    }

    [Fact]
    public void latest_is_null_when_every_version_is_yanked()
    {
        Assert.Null(Latest([V("1.0.0", yanked: true), V("2.0.0-rc.1", yanked: true)]));
    }

    [Fact]
    public void latest_is_null_without_versions()
    {
        Assert.Null(Latest([]));
    }

    [Fact]
    public void one_point_ten_beats_one_point_nine()
    {
        Assert.Equal("1.10.0", Latest([V("1.9.0"), V("1.10.0"), V("1.2.0")]));
        Assert.Equal("1.0.10", Latest([V("1.0.10"), V("1.0.9")]));
        Assert.Equal("1.0.0-rc.10", Latest([V("1.0.0-rc.9"), V("1.0.0-rc.10")]));
    }

    [Fact]
    public void latest_keeps_the_version_text_as_published_with_build_metadata()
    {
        Assert.Equal("1.1.0+build.7", Latest([V("1.0.0"), V("1.1.0+build.7")]));
    }
}
