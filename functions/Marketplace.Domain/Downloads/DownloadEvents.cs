namespace Marketplace.Downloads;

/// <summary>
/// One successful download redirect. Lives in download streams (one per group commit), never in the package
/// stream, so a popular package does not serialise its downloads on one stream row.
/// </summary>
/// Deliberately not an <see cref="IVersionEvent"/>: the package and version documents do not fold downloads
/// (counters do), so the daemon does not rewrite a document per download.
public sealed record Downloaded(string Name, string VersionKey, string Sha256, DateTimeOffset DownloadedAt);
