using System.Text.Json;
using Microsoft.Extensions.Options;
using TokenGrid.Silo.Hosting;
using TokenGrid.Silo.Problems;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace TokenGrid.Silo.Generation;

/// <summary>
/// Reads JSON request bodies within the documented size limit, turning every failure into a 4xx problem: a body over
/// the limit is 413, malformed JSON or a wrong type 400, a missing body 400.
/// </summary>
internal static class RequestJson
{
    public static async Task<T> ReadAsync<T>(HttpContext http)
        where T : class
    {
        var services = http.RequestServices;
        var limit = services.GetRequiredService<IOptions<ApiOptions>>().Value.MaxRequestBodyBytes;
        if (http.Request.ContentLength > limit)
        {
            throw new ApiProblemException(ApiProblems.BodyTooLarge(limit));
        }

        // Kestrel enforces the same limit on bodies without a length (chunked), failing the read with 413.
        var feature = http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>();
        if (feature is { IsReadOnly: false })
        {
            feature.MaxRequestBodySize = limit;
        }

        var options = services.GetRequiredService<IOptions<HttpJsonOptions>>().Value.SerializerOptions;
        T? value;
        try
        {
            value = await JsonSerializer.DeserializeAsync<T>(http.Request.Body, options, http.RequestAborted);
        }
        catch (JsonException ex)
        {
            throw new ApiProblemException(ApiProblems.InvalidJson(
                $"The request body is not valid JSON for this endpoint{(ex.Path is { } path ? $" (at {path})" : "")}."));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new ApiProblemException(ApiProblems.BodyTooLarge(limit));
        }

        return value ?? throw new ApiProblemException(ApiProblems.BadRequest("A JSON object body is required."));
    }
}
