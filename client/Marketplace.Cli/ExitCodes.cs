using Marketplace.Client;
using Marketplace.Client.Keys;
using Marketplace.Client.Packing;

namespace Marketplace.Cli;

/// <summary>What <c>mkt</c> exits with; scripts may rely on these (docs/client.md, "Exit codes").</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>Anything else that went wrong: the registry refused, the network failed, a file could not be written.</summary>
    public const int Failure = 1;
    /// <summary>The command line or the input files are wrong (unknown option, bad manifest, no such key).</summary>
    public const int Usage = 2;
    /// <summary>A verification failed: digest, signature, owner at publish time, transparency-log proof, pinned key.</summary>
    public const int Verification = 3;
    /// <summary>A package or version does not exist, or no version matches a range.</summary>
    public const int NotFound = 4;
    /// <summary>A conflict: the version exists, the last owner, a dependency conflict or cycle, a lockfile that would change.</summary>
    public const int Conflict = 5;
    /// <summary>Interrupted (Ctrl-C).</summary>
    public const int Cancelled = 130;

    public static int Of(Exception e) => e switch
    {
        VerificationException => Verification,
        ManifestException => Usage,
        KeyringException k => k.Code is "keyring-exposed" or "keyring-invalid" ? Failure : Usage,
        ResolutionException r => r.Code switch
        {
            ClientErrorCodes.UnknownPackage or ClientErrorCodes.NoMatchingVersion => NotFound,
            ClientErrorCodes.InvalidRange or ClientErrorCodes.InvalidName => Usage,
            _ => Conflict,
        },
        MarketplaceApiException a => a.Status switch
        {
            404 => NotFound,
            409 => Conflict,
            _ => Failure,
        },
        UsageException => Usage,
        OperationCanceledException => Cancelled,
        _ => Failure,
    };
}

/// <summary>An argument that parsed but makes no sense (a spec without a version, a path that is not there).</summary>
public sealed class UsageException(string message) : Exception(message);
