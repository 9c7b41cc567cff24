using Marketplace.Testing;

namespace Marketplace.Client.Tests.Support;

/// <summary>The registry the CLI and the SDK talk to: <see cref="KestrelRegistry"/> with its common settings.</summary>
public class RegistryFixture() : KestrelRegistry("cli");

public sealed class JourneyRegistry : RegistryFixture;

public sealed class TamperRegistry : RegistryFixture;

[CollectionDefinition("journey")]
public sealed class JourneyCollection : ICollectionFixture<JourneyRegistry>;

[CollectionDefinition("tamper")]
public sealed class TamperCollection : ICollectionFixture<TamperRegistry>;
