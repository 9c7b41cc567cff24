using Marketplace.Tests.Support;
using static Marketplace.Tests.Support.Packages;

namespace Marketplace.Tests.Packages.Reading;

[Collection("cached reads")]
public sealed class CachedReads(CachedReadsFixture fixture)
{
    [Fact]
    public async Task a_cached_read_is_evicted_when_the_daemon_updates_its_document()
    {
        var p = await fixture.Host.PublishedPackage();
        await fixture.WaitForProjectionsAsync();
        var first = await fixture.Host.GetJson($"/v1/packages/{p.Name}");
        Assert.Equal(1, first.GetProperty("versions").GetArrayLength());
        await fixture.Host.GetJson($"/v1/packages/{p.Name}/{p.Version}");

        await fixture.Host.PublishedPackage(p.Name, "1.1.0", p.Owner);
        await fixture.Host.Scenario(s => { s.Post.Json(YankBody(p.Owner, "yank", p.Name, p.Version)).ToUrl($"/v1/packages/{p.Name}/{p.Version}/yank"); s.StatusCodeShouldBe(200); });
        await fixture.WaitForProjectionsAsync();

        // The cache lives ten minutes here; only eviction on the daemon's commit can make these fresh.
        var after = await fixture.Host.GetJson($"/v1/packages/{p.Name}");
        Assert.Equal(2, after.GetProperty("versions").GetArrayLength());
        Assert.Equal("1.1.0", after.GetProperty("latest").GetString());
        Assert.True((await fixture.Host.GetJson($"/v1/packages/{p.Name}/{p.Version}")).GetProperty("yanked").GetBoolean());
    }
}

[Collection("cached reads, no daemon")]
public sealed class CachedReadsBeforeProjection(CachedReadsNoDaemonFixture fixture)
{
    [Fact]
    public async Task a_publish_or_yank_is_read_at_once_even_where_the_old_answer_was_cached()
    {
        var p = await fixture.Host.PublishedPackage();
        // No daemon: no document will ever be projected here; the answers are folded from the package stream.
        var first = await fixture.Host.GetJson($"/v1/packages/{p.Name}");
        Assert.Equal(1, first.GetProperty("versions").GetArrayLength());
        Assert.False((await fixture.Host.GetJson($"/v1/packages/{p.Name}/{p.Version}")).GetProperty("yanked").GetBoolean());

        await fixture.Host.PublishedPackage(p.Name, "1.1.0", p.Owner);
        await fixture.Host.Scenario(s => { s.Post.Json(YankBody(p.Owner, "yank", p.Name, p.Version)).ToUrl($"/v1/packages/{p.Name}/{p.Version}/yank"); s.StatusCodeShouldBe(200); });

        // The package's answer was cached for ten minutes; the host's own commits dropped it.
        var after = await fixture.Host.GetJson($"/v1/packages/{p.Name}");
        Assert.Equal(2, after.GetProperty("versions").GetArrayLength());
        Assert.Equal("1.1.0", after.GetProperty("latest").GetString());
        Assert.True((await fixture.Host.GetJson($"/v1/packages/{p.Name}/{p.Version}")).GetProperty("yanked").GetBoolean());
    }
}
