using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using TokenGrid.Silo.Options;
using TokenGrid.Silo.Problems;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace TokenGrid.Silo.Serving;

/// <summary>
/// Reads JSON request bodies within the documented size limit, turning every failure into a 4xx problem: another media
/// type than <c>application/json</c>, a charset other than UTF-8 or a content coding is 415, a body over the limit 413,
/// bytes that are not UTF-8 or malformed JSON 400, text holding an unpaired surrogate escape 400 naming the field, a
/// missing body 400; a value of the wrong type 400 <c>invalid_type</c> naming the field (<see cref="JsonTypeMismatch"/>).
/// </summary>
/// <remarks>
/// The body is read whole (it is at most <see cref="ApiOptions.MaxRequestBodyBytes"/>) and checked by
/// <see cref="JsonText"/> before it is deserialized: System.Text.Json checks UTF-8 and surrogates only when it turns a
/// string into .NET text, which for <see cref="JsonElement"/> fields happens later, outside any handler of JSON errors.
/// </remarks>
internal static class RequestJson
{
    private const int ReadChunk = 16 * 1024;

    public static async Task<T> ReadAsync<T>(HttpContext http)
        where T : class
    {
        RequireIdentity(http.Request.Headers.ContentEncoding);
        RequireJson(http.Request.ContentType);
        var services = http.RequestServices;
        var limit = services.GetRequiredService<IOptions<ApiOptions>>().Value.MaxRequestBodyBytes;
        if (http.Request.ContentLength > limit)
        {
            throw new ApiProblemException(ApiProblems.BodyTooLarge(limit));
        }

        // Kestrel enforces the same limit on bodies without a length (chunked), failing the read with 413.
        var feature = http.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (feature is { IsReadOnly: false })
        {
            feature.MaxRequestBodySize = limit;
        }

        byte[] body;
        try
        {
            body = await ReadBodyAsync(http.Request, limit, http.RequestAborted);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new ApiProblemException(ApiProblems.BodyTooLarge(limit));
        }

        JsonText.Check(body);
        var options = services.GetRequiredService<IOptions<HttpJsonOptions>>().Value.SerializerOptions;
        T? value;
        try
        {
            value = JsonSerializer.Deserialize<T>(body, options);
        }
        catch (JsonException ex)
        {
            throw new ApiProblemException(JsonTypeMismatch.Problem<T>(body, ex, options));
        }

        return value ?? throw new ApiProblemException(ApiProblems.BadRequest("A JSON object body is required."));
    }

    /// <summary>
    /// A body in a content coding (gzip, deflate, br, ...) is 415: TokenGrid reads bodies as they come, and reading a
    /// compressed body as JSON would refuse it for the wrong reason, while a plain body labelled compressed would be read
    /// against its own label. <c>identity</c> (or no header) is the body as it is.
    /// </summary>
    private static void RequireIdentity(Microsoft.Extensions.Primitives.StringValues encodings)
    {
        foreach (var coding in encodings.SelectMany(v => (v ?? "").Split(',')).Select(c => c.Trim()))
        {
            if (coding.Length > 0 && !coding.Equals("identity", StringComparison.OrdinalIgnoreCase))
            {
                throw new ApiProblemException(ApiProblems.UnsupportedMediaType(
                    $"The body's content coding '{coding}' is not supported: send the body uncompressed (no Content-Encoding)."));
            }
        }
    }

    /// <summary>
    /// The body must be <c>application/json</c>, in UTF-8: a <c>charset</c> other than UTF-8 (or an empty one) is 415,
    /// since JSON on the wire is UTF-8 (RFC 8259) and reading another encoding as UTF-8 would change the text; so is a
    /// <c>Content-Type</c> that is not a media type, or another one (a <c>+json</c> suffix included, which routing lets
    /// through). A missing <c>Content-Type</c> is read as JSON.
    /// </summary>
    private static void RequireJson(string? contentType)
    {
        if (contentType is null)
        {
            return;
        }

        if (!MediaTypeHeaderValue.TryParse(contentType, out var type) || !type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
        {
            throw new ApiProblemException(ApiProblems.UnsupportedMediaType(
                $"The body's Content-Type '{contentType}' is not supported: send JSON as 'Content-Type: application/json'."));
        }

        if (type.Charset.HasValue is false)
        {
            return;
        }

        var name = type.Charset.ToString().Trim('"');
        if (!name.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !name.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            throw new ApiProblemException(ApiProblems.UnsupportedMediaType(
                $"The body's charset '{name}' is not supported: send JSON as UTF-8 ('Content-Type: application/json' or 'application/json; charset=utf-8')."));
        }
    }

    /// <summary>The whole body, failing with 413 past <paramref name="limit"/> also where Kestrel's own limit cannot be set.</summary>
    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream(request.ContentLength is { } length ? (int)length : ReadChunk);
        var buffer = new byte[ReadChunk];
        int read;
        while ((read = await request.Body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            if (body.Length + read > limit)
            {
                throw new ApiProblemException(ApiProblems.BodyTooLarge(limit));
            }

            body.Write(buffer, 0, read);
        }

        return body.ToArray();
    }
}
