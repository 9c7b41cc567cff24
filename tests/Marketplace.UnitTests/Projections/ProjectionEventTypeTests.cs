using JasperFx.Events.Projections;
using Marketplace.Packages;
using Marketplace.Projections;
using Marten;

namespace Marketplace.UnitTests.Projections;

/// <summary>
/// The event types each async projection declares. Marten's daemon filters the events it loads for a projection by
/// type in SQL only when every declared type is concrete: one interface among them and the projection reads the whole
/// log, every download included, and drops what it does not want in memory.
/// </summary>
public class ProjectionEventTypeTests
{
    /// <summary>The async projections as the store registers them (no database is reached: the store is never used).</summary>
    private static readonly Lazy<IReadOnlyDictionary<string, EventFilterable>> Registered = new(() =>
    {
        var options = new StoreOptions();
        options.Connection("Host=127.0.0.1;Database=unused");
        options.DatabaseSchemaName = "mkt";
        options.Events.StreamIdentity = JasperFx.Events.StreamIdentity.AsString;
        options.AddReadModels();
        using var store = new DocumentStore(options);
        return store.Options.Projections.All
            .Where(p => p.Lifecycle == ProjectionLifecycle.Async)
            .ToDictionary(p => p.Name, p => (EventFilterable)p);
    });

    private static readonly string[] Names = ["PackageDocument", "VersionDocument", "Dependencies", "DownloadCounts", "Search"];

    public static TheoryData<string> Projections => new(Names);

    private static List<Type> Declared(string name) => Registered.Value[name].IncludedEventTypes;

    private static IEnumerable<Type> Concrete<TInterface>() =>
        typeof(IPackageEvent).Assembly.GetTypes().Where(t => t is { IsClass: true, IsAbstract: false } && typeof(TInterface).IsAssignableFrom(t));

    [Fact]
    public void these_are_the_async_projections() =>
        Assert.Equal(Names.Order(), Registered.Value.Keys.Order());

    [Theory]
    [MemberData(nameof(Projections))]
    public void every_declared_event_type_is_concrete_so_the_daemon_filters_in_sql(string name)
    {
        var types = Declared(name);
        Assert.NotEmpty(types);
        Assert.All(types, t => Assert.False(t.IsInterface || t.IsAbstract, $"{name} declares {t.Name}"));
    }

    [Fact]
    public void the_lists_of_package_and_version_events_are_complete()
    {
        Assert.Equal(Concrete<IPackageEvent>().OrderBy(t => t.Name), PackageEventTypes.All.OrderBy(t => t.Name));
        Assert.Equal(Concrete<IVersionEvent>().OrderBy(t => t.Name), PackageEventTypes.OfVersions.OrderBy(t => t.Name));
    }

    [Fact]
    public void the_package_document_takes_every_package_event()
    {
        var types = Declared("PackageDocument");
        Assert.All(Concrete<IPackageEvent>(), t => Assert.Contains(t, types));
    }

    [Fact]
    public void the_version_document_takes_every_version_event()
    {
        var types = Declared("VersionDocument");
        Assert.All(Concrete<IVersionEvent>(), t => Assert.Contains(t, types));
        Assert.DoesNotContain(typeof(OwnerAdded), types);
    }

    [Fact]
    public void only_the_download_counters_read_downloads()
    {
        // Every projection declaring Downloaded loads every download event again; the counters keep search's totals too.
        Assert.Equal(["DownloadCounts"], Names.Where(n => Declared(n).Contains(typeof(Marketplace.Downloads.Downloaded))));
        Assert.Contains(typeof(PackagePublished), Declared("DownloadCounts"));
    }

    [Fact]
    public void the_dependencies_take_every_version_event()
    {
        var types = Declared("Dependencies");
        Assert.All(Concrete<IVersionEvent>(), t => Assert.Contains(t, types));
    }
}
