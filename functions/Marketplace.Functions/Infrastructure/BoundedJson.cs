using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace Marketplace.Functions.Infrastructure;

/// <summary>Reads a JSON request body with a byte cap, mapping every failure to a domain error.</summary>
public static class BoundedJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        AllowDuplicateProperties = false,
        MaxDepth = 32,
        // The Web defaults read "10" as 10: a field's JSON type is part of the contract, a string is not a number.
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict,
    };

    public static async Task<Outcome<T>> ReadAsync<T>(HttpRequest request, long maxBytes, CancellationToken ct) where T : class
    {
        if (request.ContentType is { } type && !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            return new DomainError("unsupported-media-type", 415, "Unsupported media type", "Send the body as application/json.");
        if (request.ContentLength > maxBytes)
            return DomainError.TooLarge($"The body has {request.ContentLength} bytes; this route accepts at most {maxBytes}.");
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = maxBytes;

        // Buffer up to the cap (the body is small by construction) and parse from memory.
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        try
        {
            while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                    return DomainError.TooLarge($"The body exceeds {maxBytes} bytes.");
                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return DomainError.TooLarge($"The body exceeds {maxBytes} bytes.");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status408RequestTimeout)
        {
            return BodyTooSlow;
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's own refusals while reading: a malformed chunk, a body shorter than its Content-Length.
            return DomainError.InvalidRequest($"The body could not be read: {Trim(e.Message)}");
        }
        if (buffer.Length == 0)
            return DomainError.InvalidRequest("The body is empty; a JSON object is required.");
        try
        {
            return JsonSerializer.Deserialize<T>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), Options) is { } value
                ? value
                : DomainError.InvalidRequest("The body must be a JSON object.");
        }
        catch (JsonException e)
        {
            return DomainError.InvalidRequest($"The body is not valid JSON for this route: {Trim(e.Message)}");
        }
    }

    /// <summary>The body arrived slower than Kestrel's minimum data rate.</summary>
    public static readonly DomainError BodyTooSlow =
        new("request-timeout", 408, "The body was too slow", "The request body arrived slower than the minimum data rate; send it again.");

    private static string Trim(string s) => s.Length > 300 ? s[..300] : s;
}

