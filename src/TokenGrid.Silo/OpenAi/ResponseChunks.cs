using System.Text;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Silo.Problems;
using TokenGrid.Silo.Serving;

namespace TokenGrid.Silo.OpenAi;

/// <summary>
/// A response's stream as the Responses API shapes it, for <see cref="CompletionStream"/>: <c>response.created</c>,
/// <c>response.in_progress</c>, the message item and its <c>output_text</c> part added, a
/// <c>response.output_text.delta</c> per piece of text, the text, part and item done, and last the whole response in
/// <c>response.completed</c> (or <c>response.incomplete</c> when <c>max_output_tokens</c> ended it, or
/// <c>response.failed</c>) with its usage. Every event names itself (<c>event:</c>) and counts in
/// <c>sequence_number</c>; the stream has no <c>[DONE]</c>.
/// </summary>
/// <param name="start">The response as it starts: in progress, with no output.</param>
internal sealed class ResponseChunks(ResponseObject start) : IChunkFormat
{
    private readonly StringBuilder _text = new();
    private readonly string _itemId = ResponseIds.MessageOf(start.Id);
    private int _sequence;
    private bool _opened;
    private string _finishReason = "stop";

    public IReadOnlyList<object> Opening(Usage? usage)
    {
        _opened = true;
        return
        [
            new ResponseLifecycleEvent("response.created", _sequence++, start),
            new ResponseLifecycleEvent("response.in_progress", _sequence++, start),
            new ResponseOutputItemEvent("response.output_item.added", _sequence++, 0, new ResponseMessage(_itemId, "in_progress", [])),
            new ResponseContentPartEvent("response.content_part.added", _sequence++, _itemId, 0, 0, new ResponseOutputText("")),
        ];
    }

    public IReadOnlyList<object> Text(string text, IReadOnlyList<TokenLogprob>? logprobs, Usage? usage)
    {
        _text.Append(text);
        return [new ResponseTextDeltaEvent("response.output_text.delta", _sequence++, _itemId, 0, 0, text)];
    }

    public IReadOnlyList<object> Finish(string finishReason, Usage? usage)
    {
        _finishReason = finishReason;
        var text = _text.ToString();
        return
        [
            new ResponseTextDoneEvent("response.output_text.done", _sequence++, _itemId, 0, 0, text),
            new ResponseContentPartEvent("response.content_part.done", _sequence++, _itemId, 0, 0, new ResponseOutputText(text)),
            new ResponseOutputItemEvent("response.output_item.done", _sequence++, 0, Message(ResponseReplies.ItemStatus(finishReason))),
        ];
    }

    /// <summary>The last event: the whole response, completed or incomplete, with its usage.</summary>
    public object Usage(Usage usage)
    {
        var response = ResponseReplies.Finished(start, _text.ToString(), _finishReason, usage);
        return new ResponseLifecycleEvent("response." + response.Status, _sequence++, response);
    }

    /// <summary>
    /// <c>response.failed</c> with the problem's code and message, and the text so far as an incomplete message (after
    /// the opening events, if only keep-alives went before).
    /// </summary>
    public IReadOnlyList<object> Failure(ApiProblem problem)
    {
        List<object> events = _opened ? [] : [.. Opening(null)];
        var failed = start with
        {
            Status = "failed",
            Output = [Message("incomplete")],
            Error = new ResponseError(problem.Code, problem.Detail),
        };
        events.Add(new ResponseLifecycleEvent("response.failed", _sequence++, failed));
        return events;
    }

    public bool EndsWithDone => false;

    private ResponseMessage Message(string status) => new(_itemId, status, [new ResponseOutputText(_text.ToString())]);
}
