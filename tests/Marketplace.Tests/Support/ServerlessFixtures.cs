namespace Marketplace.Tests.Support;

/// <summary>The projections function as deployed (<see cref="HostProfile.DeployedFunction"/>): the catch-up endpoint on.</summary>
public sealed class ProjectionsFunctionFixture() : MarketplaceFixture(HostProfile.DeployedFunction(catchUpEndpoint: true));

/// <summary>An HTTP function (publish, download, read) as deployed: the catch-up endpoint off.</summary>
public sealed class HttpFunctionFixture() : MarketplaceFixture(HostProfile.DeployedFunction(catchUpEndpoint: false));

[CollectionDefinition("projections function")]
public sealed class ProjectionsFunctionCollection : ICollectionFixture<ProjectionsFunctionFixture>;

[CollectionDefinition("http function")]
public sealed class HttpFunctionCollection : ICollectionFixture<HttpFunctionFixture>;
