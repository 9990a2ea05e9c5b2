using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Orleans.Runtime.Messaging;
using TokenGrid.Grains.Audit;
using TokenGrid.Grains.Storage;
using TokenGrid.Grains.Tenants;
using TokenGrid.Silo.Auth;

namespace TokenGrid.Silo.Problems;

/// <summary>
/// The one place exceptions become problems: domain and input errors get their 4xx, a silo that is unavailable a 503
/// with Retry-After, anything else a 500 without internals. A request the client abandoned gets no body.
/// </summary>
internal sealed partial class ApiExceptionHandler(IProblemDetailsService problems, ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        // A client that closes the connection mid-body fails the read with a reset (an IOException) or a cancellation. A
        // reset can fail the read before the request counts as aborted: it is the client's connection that went, not a
        // dependency, and nothing can be written to it any more (an answer would only fail Kestrel's draining of the body).
        if (exception is ConnectionResetException
            || (exception is OperationCanceledException or IOException && httpContext.RequestAborted.IsCancellationRequested))
        {
            LogClientGone(logger, httpContext.Request.Path);
            httpContext.Abort();
            return true;
        }

        // A model this silo lacks may be served by others: the problem says so (it reads the node registry, so it is made here).
        var problem = exception is ModelNotFoundException notFound
            ? await notFound.ProblemAsync(httpContext.RequestServices.GetRequiredService<IGrainFactory>(), httpContext.RequestServices.GetRequiredService<ILocalSiloDetails>().Name)
            : Map(exception);
        if (problem.Status == StatusCodes.Status503ServiceUnavailable)
        {
            // A 503 a retry can fix says when to come back; a cause that gave no delay gets about one failure detection.
            problem = problem with { RetryAfter = problem.ShouldRetry == false ? null : problem.RetryAfter ?? s_clusterRetryAfter };
            if (exception is not (ApiProblemException or JobFailedException or ChangeNotAuditedException))
            {
                // A 503 the API chose (a job's failure, a full cluster) is no news for the log, nor is a change not
                // audited (the audit logged it): this line is for dependencies.
                LogUnavailable(logger, exception, httpContext.Request.Method, httpContext.Request.Path, problem.Code);
            }
        }
        else if (problem.Status >= 500 && exception is ApiProblemException or JobFailedException)
        {
            // A 5xx the API chose, such as a job that ran out of time: an outcome it documents, not a fault of the server.
            LogAnswered(logger, httpContext.Request.Method, httpContext.Request.Path, problem.Status, problem.Code);
        }
        else if (problem.Status >= 500)
        {
            // An exception nobody expected may quote the request it failed on: its message stays out of the Error line.
            // A database error that a retry does not fix (a missing privilege, table or column, a violated constraint)
            // names its SQLSTATE there, so an operator sees what to repair.
            var withheld = new WithheldMessageException(exception);
            if (DatabaseErrors.IsPermanent(exception))
            {
                LogDatabaseFault(logger, withheld, httpContext.Request.Method, httpContext.Request.Path, DatabaseErrors.SqlState(exception));
            }
            else
            {
                LogUnhandled(logger, withheld, httpContext.Request.Method, httpContext.Request.Path);
            }

            LogUnhandledInFull(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
        }

        httpContext.Response.StatusCode = problem.Status;
        if (problem.Status == StatusCodes.Status413PayloadTooLarge)
        {
            // The rest of the body is never read, so this connection cannot carry another request.
            httpContext.Response.Headers.Connection = "close";
        }
        if (problem.RetryAfter is { } retryAfter)
        {
            RateLimitHeaders.WriteRetryAfter(httpContext.Response.Headers, retryAfter);
        }

        if (problem.ShouldRetry is { } shouldRetry)
        {
            httpContext.Response.Headers[ShouldRetryHeader] = shouldRetry ? "true" : "false";
        }

        // Written whatever Accept says (ProblemJsonWriter): a handler that declined would make the middleware rethrow.
        var details = new ProblemDetails
        {
            Status = problem.Status,
            Title = problem.Title,
            Detail = problem.Detail,
            Extensions = { [ApiProblems.ErrorMember] = problem.ToOpenAiError() },
        };
        if (problem.JobId is { } jobId)
        {
            details.Extensions[ApiProblems.JobIdMember] = jobId;
        }

        await problems.WriteAsync(new ProblemDetailsContext { HttpContext = httpContext, Exception = exception, ProblemDetails = details });
        return true;
    }

    /// <summary>
    /// The OpenAI SDKs' own header (openai-node and openai-python read it before their status rules): whether sending the
    /// same request again can help.
    /// </summary>
    internal const string ShouldRetryHeader = "x-should-retry";

    /// <summary>The problem an exception stands for.</summary>
    internal static ApiProblem Map(Exception exception) => exception switch
    {
        ApiProblemException e => e.Problem,
        ModelNotFoundException e => ApiProblems.ModelNotFound(e.Model),
        JobFailedException e => e.Problem,
        BadHttpRequestException { StatusCode: 413 } => new(413, "Request body too large", exception.Message, "request_too_large"),
        BadHttpRequestException e => new(e.StatusCode, "Bad request", e.Message, "invalid_request"),
        JsonException e => ApiProblems.InvalidJson(e.Message),
        _ when IsUnstorableText(exception) => ApiProblems.BadRequest(
            "The request holds text the database cannot store (a NUL character or invalid Unicode).", "invalid_value"),
        TenantNotFoundException e => ApiProblems.TenantNotFound(e.TenantId),
        TenantExistsException e => new(409, "Tenant exists", $"A tenant '{e.TenantId}' already exists.", "tenant_exists"),
        JobAlreadySettledException e => new(409, "Job exists", e.Message, "job_exists"),
        TenantDeletedException e => new(409, "Tenant deleted", e.Message, "tenant_deleted"),
        ChangeNotAuditedException e => new(503, "Change not audited", e.Message, "change_not_audited") { ShouldRetry = false },
        InvalidFieldException e => ApiProblems.BadRequest(e.Message, "invalid_value", e.Field),
        ArgumentException e => ApiProblems.BadRequest(StripParameterName(e), param: e.ParamName),

        // The same statement fails the same way again: retrying only delays the alert.
        _ when DatabaseErrors.IsPermanent(exception) => ApiProblems.Internal() with { ShouldRetry = false },
        _ when StorageUnavailableException.IsTransient(exception) && !ClusterFailures.IsClusterUnavailable(exception) => ApiProblems.Unavailable(
            "The database is unavailable (it may be restarting); nothing was changed, retry shortly.") with { RetryAfter = StorageUnavailableException.RetryAfter },
        _ when ClusterFailures.IsClusterUnavailable(exception) => ApiProblems.Unavailable(
            "A silo of the cluster is unavailable (it may have just failed); retry shortly.") with { RetryAfter = s_clusterRetryAfter },
        _ => ApiProblems.Internal(),
    };

    /// <summary>How long to wait before retrying a request a failing silo could not serve: about one failure detection.</summary>
    private static readonly TimeSpan s_clusterRetryAfter = TimeSpan.FromSeconds(2);

    /// <summary>
    /// PostgreSQL refused a text value (a NUL, or bytes that are not UTF-8): the request's fault. The request guard and
    /// the JSON checks keep such text out; this is the net for a path they miss (also when the error crossed silos).
    /// </summary>
    private static bool IsUnstorableText(Exception exception) => DatabaseErrors.SqlState(exception) is "22021" or "22P05";

    /// <summary>An argument exception's message without the " (Parameter 'x')" suffix the runtime appends.</summary>
    private static string StripParameterName(ArgumentException e)
    {
        var message = e.Message;
        var suffix = e.ParamName is null ? -1 : message.LastIndexOf($" (Parameter '{e.ParamName}')", StringComparison.Ordinal);
        return suffix > 0 ? message[..suffix] : message;
    }
}
