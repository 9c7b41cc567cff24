using Marketplace.Functions.Webhooks;
using Weasel.Core;

namespace Marketplace.Tests.Webhooks;

[Collection("webhooks")]
public sealed class WebhookSchemaTests(WebhookFixture fixture)
{
    /// <summary>A table whose definition never matches the database would be altered (its partial index rebuilt) on every start and db-apply.</summary>
    [Fact]
    public async Task once_applied_the_deliveries_table_and_its_indexes_need_no_further_change()
    {
        var migration = await fixture.Store.Storage.Database.CreateMigrationAsync();
        var mine = migration.Deltas.Where(d => d.SchemaObject.Identifier.Name == WebhookDeliveryTable.Name).ToList();
        Assert.NotEmpty(mine);
        Assert.All(mine, d => Assert.Equal(SchemaPatchDifference.None, d.Difference));
    }
}

[Collection("webhooks")]
public sealed class AddedTableSchemaTests(WebhookFixture fixture)
{
    /// <summary>The chain leases, key slots, rate-usage and log-entry tables, like the deliveries table, match once applied.</summary>
    [Theory]
    [InlineData(WebhookDeliveryTable.LeasesName)]
    [InlineData(WebhookKeySlots.Name)]
    [InlineData(Marketplace.Functions.Protection.RateLimitReconciler.TableName)]
    [InlineData(Marketplace.Functions.Transparency.TransparencyLogProjection.EntriesTable)]
    public async Task once_applied_an_added_table_needs_no_further_change(string table)
    {
        var migration = await fixture.Store.Storage.Database.CreateMigrationAsync();
        var mine = migration.Deltas.Where(d => d.SchemaObject.Identifier.Name == table).ToList();
        Assert.NotEmpty(mine);
        Assert.All(mine, d => Assert.Equal(SchemaPatchDifference.None, d.Difference));
    }
}
