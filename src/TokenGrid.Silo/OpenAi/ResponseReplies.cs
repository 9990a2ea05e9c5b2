using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Catalog;

namespace TokenGrid.Silo.OpenAi;

/// <summary>
/// The ids of a response and its message: both carry the hex digits of the job that ran it (<c>job_X</c> is
/// <c>resp_X</c> with <c>msg_X</c>), so a tenant finds the job of a response under <c>GET /v1/jobs/job_X</c>.
/// </summary>
internal static class ResponseIds
{
    /// <summary>The response id of job <paramref name="jobId"/> (<c>job_…</c>).</summary>
    public static string Of(string jobId) => "resp_" + jobId["job_".Length..];

    /// <summary>The id of the message item of response <paramref name="responseId"/>.</summary>
    public static string MessageOf(string responseId) => "msg_" + responseId["resp_".Length..];
}

/// <summary>A finished job as a response: completed, or incomplete when its output reached the token limit.</summary>
internal static class ResponseReplies
{
    /// <summary>The response when its job has ended with <paramref name="finishReason"/>, its output items and its usage.</summary>
    public static ResponseObject Finished(ResponseObject start, IReadOnlyList<ResponseOutputItem> output, string finishReason, Usage usage)
    {
        var status = finishReason == "length" ? "incomplete" : "completed";
        return start with
        {
            Status = status,
            Output = [.. output],
            Usage = ResponseUsage.Of(usage),
            // A reply cut by the context's end (no max_output_tokens given) stopped at the job's token limit all the same.
            IncompleteDetails = status == "incomplete" ? new ResponseIncompleteDetails("max_output_tokens") : null,
        };
    }

    /// <summary>
    /// The response of a whole reply (not streamed): its text read into output items as a stream's would be, with the
    /// tokens' log probabilities on the text when the request included them.
    /// </summary>
    public static ResponseObject Finished(
        ResponseObject start, string text, IReadOnlyList<TokenLogprob> tokens, ToolCallReader? tools, LogprobFormat? logprobs, string finishReason, Usage usage)
    {
        var output = new ResponseOutputItems(start.Id, tools, logprobs, () => 0);
        output.Push(text, tokens);
        output.Finish(finishReason);
        return Finished(start, output.Items, finishReason, usage);
    }

    /// <summary>The message item's status: <c>incomplete</c> when the token limit cut it.</summary>
    public static string ItemStatus(string finishReason) => finishReason == "length" ? "incomplete" : "completed";
}
