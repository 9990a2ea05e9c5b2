using System.Text;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Catalog;

namespace TokenGrid.Silo.OpenAi;

/// <summary>
/// A response's <c>output</c>, built from the reply's text as it comes, with the stream events that announce it: the
/// text a <c>message</c> item (its <c>output_text</c> part added, a delta per piece, then done), and with
/// <paramref name="tools"/> each tool call the chat path's reader finds a <c>function_call</c> item (added with its
/// name, its arguments in <c>response.function_call_arguments.delta</c> events, then done), each item at its own
/// <c>output_index</c> in the order the model wrote them. A non-streamed reply goes through the same steps and keeps
/// only the items, so both shapes agree.
/// </summary>
/// <param name="responseId">The response's id, whose hex digits the item ids carry.</param>
/// <param name="tools">The reader of the model's tool calls (chat's), or null when calls are not read: the reply is one message.</param>
/// <param name="logprobs">The format of the text's log probabilities, when the request included them.</param>
/// <param name="next">The next event's <c>sequence_number</c>.</param>
internal sealed class ResponseOutputItems(string responseId, ToolCallReader? tools, LogprobFormat? logprobs, Func<int> next)
{
    private readonly List<ResponseOutputItem> _items = [];
    private readonly StringBuilder _pending = new();
    private Open? _open;
    private int _calls;

    /// <summary>The items done so far.</summary>
    public IReadOnlyList<ResponseOutputItem> Items => _items;

    /// <summary>The item being written, if any.</summary>
    private sealed class Open(int index, string id)
    {
        public int Index { get; } = index;

        public string Id { get; } = id;

        public StringBuilder Text { get; } = new();

        public List<ChatTokenLogprob> Logprobs { get; } = [];

        /// <summary>For a call: its call id and name; null for a message.</summary>
        public (string CallId, string Name)? Call { get; init; }
    }

    /// <summary>Opens the message item at once (a reply without tools always has one): its added events.</summary>
    public IReadOnlyList<object> OpenMessage()
    {
        var events = new List<object>();
        StartMessage(events);
        return events;
    }

    /// <summary>The events for the next piece of the reply's text and, without tools, its tokens' log probabilities.</summary>
    public IReadOnlyList<object> Push(string text, IReadOnlyList<TokenLogprob>? tokens)
    {
        var events = new List<object>();
        if (tools is null)
        {
            var details = logprobs is not null && tokens is not null ? logprobs.Chat(tokens).Content : null;
            Content(events, text, details);
            return events;
        }

        Pieces(events, tools.Push(text));
        return events;
    }

    /// <summary>The reply has ended with <paramref name="finishReason"/>: the events that close what is open.</summary>
    public IReadOnlyList<object> Finish(string finishReason)
    {
        var events = new List<object>();
        if (tools is not null)
        {
            Pieces(events, tools.Finish());
        }

        // A reply of no text and no call is still one (empty) message, as OpenAI answers it.
        if (_open is null && _items.Count == 0)
        {
            StartMessage(events);
        }

        Close(events, ResponseReplies.ItemStatus(finishReason));
        return events;
    }

    /// <summary>The output as it stands when a stream fails: the items done, and the open one incomplete.</summary>
    public IReadOnlyList<ResponseOutputItem> Failed() => _open is null ? [.. _items] : [.. _items, ItemOf(_open, "incomplete")];

    private void Pieces(List<object> events, IReadOnlyList<ToolCallPiece> pieces)
    {
        foreach (var piece in pieces)
        {
            if (piece.Call is null)
            {
                Content(events, piece.Text ?? "", null);
            }
            else if (piece.Name is { } name)
            {
                // Text held back between calls (the line break between two of them) is no message of its own.
                _pending.Clear();
                Close(events, "completed");
                var index = _items.Count;
                _open = new Open(index, $"fc_{responseId["resp_".Length..]}_{_calls++}") { Call = (tools!.NewCallId(), name) };
                events.Add(new ResponseOutputItemEvent("response.output_item.added", next(), index, ItemOf(_open, "in_progress")));
            }
            else
            {
                var arguments = piece.Text ?? "";
                _open!.Text.Append(arguments);
                events.Add(new ResponseFunctionCallArgumentsDeltaEvent("response.function_call_arguments.delta", next(), _open.Id, _open.Index, arguments));
            }
        }
    }

    private void Content(List<object> events, string text, IReadOnlyList<ChatTokenLogprob>? details)
    {
        if (_open is { Call: not null })
        {
            Close(events, "completed");
        }

        if (_open is null)
        {
            // With tools, white space alone does not open a message: it may only separate calls.
            if (tools is not null && string.IsNullOrWhiteSpace(text) && details is null)
            {
                _pending.Append(text);
                return;
            }

            StartMessage(events);
            text = _pending + text;
            _pending.Clear();
        }

        _open!.Text.Append(text);
        _open.Logprobs.AddRange(details ?? []);
        events.Add(new ResponseTextDeltaEvent("response.output_text.delta", next(), _open.Id, _open.Index, 0, text)
        {
            Logprobs = [.. (details ?? []).Select(ResponseDeltaLogprob.Of)],
        });
    }

    private void StartMessage(List<object> events)
    {
        var index = _items.Count;
        // The first message keeps the id a reply without tools always had (msg_ and the job's hex digits).
        _open = new Open(index, index == 0 ? ResponseIds.MessageOf(responseId) : $"{ResponseIds.MessageOf(responseId)}_{index}");
        events.Add(new ResponseOutputItemEvent("response.output_item.added", next(), index, new ResponseMessage(_open.Id, "in_progress", [])));
        events.Add(new ResponseContentPartEvent("response.content_part.added", next(), _open.Id, index, 0, new ResponseOutputText("")));
    }

    private void Close(List<object> events, string status)
    {
        if (_open is not { } open)
        {
            return;
        }

        var item = ItemOf(open, status);
        if (open.Call is null)
        {
            var part = ((ResponseMessage)item).Content[0];
            events.Add(new ResponseTextDoneEvent("response.output_text.done", next(), open.Id, open.Index, 0, part.Text)
            {
                Logprobs = [.. part.Logprobs.Select(ResponseDeltaLogprob.Of)],
            });
            events.Add(new ResponseContentPartEvent("response.content_part.done", next(), open.Id, open.Index, 0, part));
        }
        else
        {
            events.Add(new ResponseFunctionCallArgumentsDoneEvent("response.function_call_arguments.done", next(), open.Id, open.Index, open.Text.ToString()));
        }

        events.Add(new ResponseOutputItemEvent("response.output_item.done", next(), open.Index, item));
        _items.Add(item);
        _open = null;
    }

    private static ResponseOutputItem ItemOf(Open open, string status) => open.Call is { } call
        ? new ResponseFunctionCall(open.Id, call.CallId, call.Name, open.Text.ToString(), status)
        : new ResponseMessage(open.Id, status, [new ResponseOutputText(open.Text.ToString()) { Logprobs = [.. open.Logprobs] }]);
}
