using Marketplace.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Marketplace.Tests.Infrastructure;

[Collection("file store")]
public sealed class ReceiptPruning(FileStoreFixture fixture)
{
    [Fact]
    public async Task receipts_older_than_any_acceptable_statement_are_pruned_and_fresh_ones_kept()
    {
        var now = DateTimeOffset.UtcNow;
        var old = new Marketplace.Functions.Infrastructure.StatementReceipt("old-" + Guid.NewGuid().ToString("n"), "t", "n", "k", now - TimeSpan.FromHours(2));
        var fresh = new Marketplace.Functions.Infrastructure.StatementReceipt("fresh-" + Guid.NewGuid().ToString("n"), "t", "n", "k", now - TimeSpan.FromMinutes(10));
        await using (var session = fixture.Store.LightweightSession())
        {
            session.Insert(old, fresh);
            await session.SaveChangesAsync();
        }

        await fixture.Host.Services.GetRequiredService<Marketplace.Functions.Infrastructure.StatementReceiptPruning>().PruneAsync(default);

        await using var query = fixture.Store.QuerySession();
        Assert.Null(await query.LoadAsync<Marketplace.Functions.Infrastructure.StatementReceipt>(old.Id));
        Assert.NotNull(await query.LoadAsync<Marketplace.Functions.Infrastructure.StatementReceipt>(fresh.Id));
        Assert.True(Marketplace.Functions.Infrastructure.StatementReceiptPruning.KeepFor > Marketplace.Signing.StatementVerifier.MaxAge + Marketplace.Signing.StatementVerifier.MaxFutureSkew);
    }
}
