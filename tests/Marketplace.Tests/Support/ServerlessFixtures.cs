using Marketplace.Functions.Serverless;

namespace Marketplace.Tests.Support;

/// <summary>
/// A host configured as a deployed function: blobs in S3 (s3rver), no daemon in-process (<c>Marten:Daemon=Disabled</c>),
/// no schema work at start (<c>Marten:ApplySchemaOnStartup=false</c>): the schema comes from the db-apply command's
/// code, as a deployment runs it, so a table db-apply forgets fails these tests.
/// </summary>
public abstract class DeployedFunctionFixture : S3StoreFixture
{
    protected abstract bool CatchUpEndpoint { get; }

    protected override async Task<Dictionary<string, string?>> BlobSettingsAsync()
    {
        var settings = await base.BlobSettingsAsync();
        settings["Marten:Daemon"] = "Disabled";
        settings["Marten:ApplySchemaOnStartup"] = "false";
        settings["Projections:CatchUpEndpoint"] = CatchUpEndpoint ? "true" : "false";
        return settings;
    }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await SchemaCommand.ApplyAsync(Store, CancellationToken.None);
    }
}

/// <summary>The projections function: the catch-up endpoint on.</summary>
public sealed class ProjectionsFunctionFixture : DeployedFunctionFixture
{
    protected override bool CatchUpEndpoint => true;
}

/// <summary>An HTTP function (publish, download, read): the catch-up endpoint off.</summary>
public sealed class HttpFunctionFixture : DeployedFunctionFixture
{
    protected override bool CatchUpEndpoint => false;
}

[CollectionDefinition("projections function")]
public sealed class ProjectionsFunctionCollection : ICollectionFixture<ProjectionsFunctionFixture>;

[CollectionDefinition("http function")]
public sealed class HttpFunctionCollection : ICollectionFixture<HttpFunctionFixture>;
