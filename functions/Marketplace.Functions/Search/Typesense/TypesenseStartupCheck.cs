namespace Marketplace.Functions.Search.Typesense;

/// <summary>
/// Runs before any hosted service starts (the async daemon included): fails the start with a message naming the URL
/// when Typesense is selected but not healthy, and creates the collection and alias on a first start.
/// </summary>
public sealed class TypesenseStartupCheck(TypesenseCollections collections) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await collections.EnsureHealthyAsync(cancellationToken);
        await collections.EnsureAliasAsync(cancellationToken);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
