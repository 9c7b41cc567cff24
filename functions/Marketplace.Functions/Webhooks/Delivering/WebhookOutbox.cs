using System.Text;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marketplace.Downloads;
using Marketplace.Functions.Events;
using Marketplace.Packages;
using Marketplace.Projections;
using Marketplace.Webhooks;
using Marten;
using Marten.Services;
using Marten.Subscriptions;

namespace Marketplace.Functions.Webhooks.Delivering;

/// <summary>
/// The webhook outbox: a Marten subscription (run by the async daemon, or by the serverless catch-up) that reads the
/// log in order and, for every event a live subscription wants, writes a pending row into
/// <see cref="WebhookDeliveryTable"/> through the daemon's own operations — so the rows commit in the transaction that
/// records the subscription's progress, and an event is turned into deliveries exactly once. Nothing is sent from
/// here: the <see cref="WebhookDispatcher"/> sends. A failure here is thrown; the daemon rolls the page back and runs
/// it again.
/// <para>
/// Matching: a subscription gets the events committed after its creation; a package scope the events of that package,
/// an owner scope those of packages the key owns (as the package snapshot says when the page is processed) and the
/// owner events naming the key, a registry scope everything. Webhook events go to the scopes of the subscription they
/// are about, never to that subscription itself. An empty type filter means every type except <c>Downloaded</c>, which only goes where it is listed.
/// </para>
/// </summary>
public sealed class WebhookOutbox : SubscriptionBase
{
    public const string SubscriptionName = "WebhookOutbox";
    public static readonly string DownloadedType = RegistryCloudEvents.TypeOf(typeof(Downloaded))!;

    private readonly WebhookDispatchSignal _signal;
    private readonly TimeProvider _time;

    public WebhookOutbox(WebhookDispatchSignal signal, TimeProvider time)
    {
        _signal = signal;
        _time = time;
        Name = SubscriptionName;
    }

    public override async Task<IChangeListener> ProcessEventsAsync(EventRange page, ISubscriptionController controller,
        IDocumentOperations operations, CancellationToken cancellationToken)
    {
        var hasWebhookEvents = page.Events.Any(e => e.Data is IWebhookEvent);
        var routes = (await operations.Query<WebhookRoute>().ToListAsync(cancellationToken)).ToDictionary(r => r.Id);
        if (routes.Count == 0 && !hasWebhookEvents) return NullChangeListener.Instance;

        IReadOnlyDictionary<string, PackageState> owners = new Dictionary<string, PackageState>();
        if (routes.Values.Any(r => r.State.Scope.Kind == WebhookScope.Owner)
            || page.Events.Any(e => e.Data is WebhookCreated { Scope.Kind: WebhookScope.Owner }))
        {
            var names = page.Events.Select(e => PackageOf(e.Data)).OfType<string>().Distinct(StringComparer.Ordinal).ToArray();
            if (names.Length > 0)
                owners = (await operations.LoadManyAsync<PackageState>(cancellationToken, names)).ToDictionary(p => p.Id, StringComparer.Ordinal);
        }

        var now = _time.GetUtcNow().ToUniversalTime();
        var rows = new List<object?[]>();
        var changed = new HashSet<Guid>();
        foreach (var e in page.Events)
        {
            if (RegistryCloudEvents.TypeOf(e.EventType) is not { } type) continue;
            var package = PackageOf(e.Data);
            byte[]? body = null;
            foreach (var route in routes.Values)
            {
                if (route.State.Status != WebhookState.Active || !Matches(route.State, e.Data, type, package, owners, routes)) continue;
                body ??= RegistryCloudEvents.Serialize(e);
                rows.Add([route.Id, e.Id, e.Sequence, type, package ?? "", OrderKey(e.Data, package, type), body, now, now]);
            }
            if (e.Data is IWebhookEvent w)
            {
                routes.TryGetValue(w.SubscriptionId, out var route);
                var evolved = WebhookState.Evolve(route?.State, e.Data);
                if (evolved is not null)
                {
                    // The same instance as loaded: the daemon's session keeps an identity map.
                    if (route is null) routes[w.SubscriptionId] = new WebhookRoute { Id = w.SubscriptionId, State = evolved };
                    else route.State = evolved;
                    changed.Add(w.SubscriptionId);
                }
            }
        }

        foreach (var id in changed)
        {
            var route = routes[id];
            if (route.State.IsRemoved) operations.Delete<WebhookRoute>(id);
            else operations.Store(route);
        }
        WebhookDeliveries.Queue(operations, rows);
        ProjectionMetrics.Applied(SubscriptionName, page.Events);
        return rows.Count > 0 ? new WakeDispatcher(_signal) : NullChangeListener.Instance;
    }

    /// <summary>The package an event is about, if any (downloads are not package-stream events but name one).</summary>
    public static string? PackageOf(object data) => data switch
    {
        IPackageEvent p => p.Name,
        Downloaded d => d.Name,
        _ => null,
    };

    private static string OrderKey(object data, string? package, string type) => data switch
    {
        _ when package is not null => "/packages/" + package,
        IWebhookEvent w => "/webhooks/" + w.SubscriptionId.ToString("D"),
        _ => type,
    };

    public static bool Matches(WebhookState subscription, object data, string type, string? package,
        IReadOnlyDictionary<string, PackageState> owners, IReadOnlyDictionary<Guid, WebhookRoute> routes)
    {
        if (subscription.EventTypes.IsEmpty ? type == DownloadedType : !subscription.EventTypes.Contains(type))
            return false;
        var scope = subscription.Scope;
        if (scope.Kind == WebhookScope.Registry) return true;
        if (data is IWebhookEvent w)
        {
            // A subscription is not told about itself (its own disable notice would reach the receiver that said Gone).
            if (w.SubscriptionId == subscription.SubscriptionId) return false;
            var about = routes.TryGetValue(w.SubscriptionId, out var r) ? r.State : null;
            return about is not null && (scope.Kind == WebhookScope.Package
                ? about.Scope.Kind == WebhookScope.Package && about.Scope.Name == scope.Name
                : about.KeyId == scope.KeyId);
        }
        if (package is null) return false;
        if (scope.Kind == WebhookScope.Package) return package == scope.Name;
        return data switch
        {
            OwnerAdded a when a.KeyId == scope.KeyId => true,
            OwnerRemoved r when r.KeyId == scope.KeyId => true,
            _ => owners.TryGetValue(package, out var state) && state.IsOwner(scope.KeyId!),
        };
    }

    /// <summary>Tells an in-process dispatcher that new deliveries committed, so it need not wait for its next poll.</summary>
    private sealed class WakeDispatcher(WebhookDispatchSignal signal) : IChangeListener
    {
        public Task AfterCommitAsync(IDocumentSession session, IChangeSet commit, CancellationToken token)
        {
            signal.Wake();
            return Task.CompletedTask;
        }

        public Task BeforeCommitAsync(IDocumentSession session, IChangeSet commit, CancellationToken token) => Task.CompletedTask;
    }
}

/// <summary>A wake-up for the dispatcher's wait (coalescing: many wakes before a wait count once).</summary>
public sealed class WebhookDispatchSignal : IDisposable
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);

    public void Wake()
    {
        try
        {
            if (_semaphore.CurrentCount == 0) _semaphore.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled.
        }
    }

    /// <returns>True when woken, false when the wait ran out.</returns>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) => _semaphore.WaitAsync(timeout, ct);

    public void Dispose() => _semaphore.Dispose();
}
