using Marketplace.Packages;

namespace Marketplace.Downloads;

/// <summary>
/// One successful download redirect. Lives in download streams (one per group commit), never in the package
/// stream, so a popular package does not serialise its downloads on one stream row.
/// </summary>
public sealed record Downloaded(string Name, string VersionKey, string Sha256, DateTimeOffset DownloadedAt) : IVersionEvent;
