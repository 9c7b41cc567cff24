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
