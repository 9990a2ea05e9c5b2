using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Catalog;
using TokenGrid.Silo.Problems;
using TokenGrid.Silo.Serving;

namespace TokenGrid.Silo.OpenAi;

/// <summary>
/// A response's stream as the Responses API shapes it, for <see cref="CompletionStream"/>: <c>response.created</c>,
/// <c>response.in_progress</c>, then the output items as <see cref="ResponseOutputItems"/> announces them (the message
/// item and its <c>output_text</c> part added, a <c>response.output_text.delta</c> per piece of text, the text, part and
/// item done; with tools, each call's <c>function_call</c> item added, its argument deltas, arguments and item done), and
/// last the whole response in <c>response.completed</c> (or <c>response.incomplete</c> when <c>max_output_tokens</c>
/// ended it, or <c>response.failed</c>) with its usage. Every event names itself (<c>event:</c>) and counts in
/// <c>sequence_number</c>; the stream has no <c>[DONE]</c>.
/// </summary>
internal sealed class ResponseChunks : IChunkFormat
{
    private readonly ResponseObject _start;
    private readonly bool _tools;
    private readonly Func<ResponseObject, Task>? _store;
    private int _sequence;
    private bool _opened;
    private string _finishReason = "stop";

    /// <summary>The stream of a response.</summary>
    /// <param name="start">The response as it starts: in progress, with no output.</param>
    /// <param name="tools">The reader of the model's tool calls, or null when calls are not read.</param>
    /// <param name="logprobs">The format of the text's log probabilities, when the request included them.</param>
    /// <param name="store">Keeps the finished response (completed or incomplete) before its last event is sent; null: nothing is kept.</param>
    public ResponseChunks(ResponseObject start, ToolCallReader? tools = null, LogprobFormat? logprobs = null, Func<ResponseObject, Task>? store = null)
    {
        _start = start;
        _store = store;
        _tools = tools is not null;
        Output = new ResponseOutputItems(start.Id, tools, logprobs, () => _sequence++);
    }

    private ResponseOutputItems Output { get; }

    public IReadOnlyList<object> Opening(Usage? usage)
    {
        _opened = true;
        List<object> events =
        [
            new ResponseLifecycleEvent("response.created", _sequence++, _start),
            new ResponseLifecycleEvent("response.in_progress", _sequence++, _start),
        ];

        // Without tools the reply is one message, opened at once; with tools an item opens when the model starts it.
        if (!_tools)
        {
            events.AddRange(Output.OpenMessage());
        }

        return events;
    }

    public IReadOnlyList<object> Text(string text, IReadOnlyList<TokenLogprob>? logprobs, Usage? usage) => Output.Push(text, logprobs);

    public IReadOnlyList<object> Finish(string finishReason, Usage? usage)
    {
        _finishReason = finishReason;
        return Output.Finish(finishReason);
    }

    /// <summary>The last event: the whole response, completed or incomplete, with its usage.</summary>
    public object Usage(Usage usage) => Last(ResponseReplies.Finished(_start, Output.Items, _finishReason, usage));

    /// <summary>The last event, once the response is stored when the request asked for it.</summary>
    public async ValueTask<object> UsageAsync(Usage usage)
    {
        var response = ResponseReplies.Finished(_start, Output.Items, _finishReason, usage);
        if (_store is not null)
        {
            await _store(response);
        }

        return Last(response);
    }

    private ResponseLifecycleEvent Last(ResponseObject response) => new("response." + response.Status, _sequence++, response);

    /// <summary>
    /// <c>response.failed</c> with the problem's code and message, and the output so far, the open item incomplete
    /// (after the opening events, if only keep-alives went before).
    /// </summary>
    public IReadOnlyList<object> Failure(ApiProblem problem)
    {
        List<object> events = _opened ? [] : [.. Opening(null)];
        var failed = _start with
        {
            Status = "failed",
            Output = Output.Failed(),
            Error = new ResponseError(problem.Code, problem.Detail),
        };
        events.Add(new ResponseLifecycleEvent("response.failed", _sequence++, failed));
        return events;
    }

    public bool EndsWithDone => false;
}
