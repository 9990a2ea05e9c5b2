using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Catalog;
using TokenGrid.Inference.Sampling;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Options;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Serving;

/// <summary>
/// Validates a generation request against the model catalog: the model exists, the sampling is in range, the prompt
/// is counted with the model's tokenizer and fits the context with <c>max_tokens</c> (which defaults to what is left),
/// and every vLLM extension is in range. Unknown and unimplemented fields are refused before, by <see cref="OpenAi.RequestFieldPolicy"/>.
/// </summary>
internal sealed class GenerationPlanner(ModelCatalog catalog, IOptions<ApiOptions> options)
{
    /// <summary>The catalog model named <paramref name="name"/>, or a 404 <c>model_not_found</c> problem (<see cref="ModelNotFoundException"/>).</summary>
    public CatalogModel Model(string? name) =>
        string.IsNullOrWhiteSpace(name) ? throw Problem("model is required.", "model")
        : catalog.TryGet(name, out var model) ? model
        : throw new ModelNotFoundException(name);

    /// <summary>A plan for a text prompt or prompt token ids.</summary>
    public GenerationPlan ForPrompt(GenerationFields fields, string? text, int[]? tokens)
    {
        var model = Model(fields.Model);
        if (tokens is not null && tokens.Any(id => id >= model.VocabSize))
        {
            throw Problem($"prompt token ids must be below the model's vocabulary size ({model.VocabSize}).", "prompt");
        }

        return Plan(fields, model, StartOf(model, tokens ?? model.Encode(text ?? ""), "prompt"), [], "prompt");
    }

    /// <summary>
    /// One plan per prompt of a legacy completion (OpenAI's list forms of <c>prompt</c>), each for <c>n</c> choices: the
    /// same fields for every prompt, checked once, against the longest prompt, so a context-length refusal names it;
    /// without <c>max_tokens</c> each prompt gets what the context leaves it. Prompts × n above <see cref="MaxChoices"/>
    /// is 400 naming <c>prompt</c>; an empty prompt is served as <see cref="StartOf"/> says.
    /// </summary>
    public IReadOnlyList<GenerationPlan> ForPrompts(GenerationFields fields, IReadOnlyList<(string? Text, int[]? Tokens)> prompts)
    {
        if (prompts.Count == 1)
        {
            return [ForPrompt(fields, prompts[0].Text, prompts[0].Tokens)];
        }

        if (fields.N is >= 1 and <= MaxChoices && prompts.Count * fields.N.Value > MaxChoices)
        {
            throw Problem($"prompt holds {prompts.Count} prompts and n is {fields.N}: a request may ask for at most {MaxChoices} choices (prompts × n).", "prompt");
        }

        var model = Model(fields.Model);
        var tokens = new int[prompts.Count][];
        for (var i = 0; i < prompts.Count; i++)
        {
            var (text, ids) = prompts[i];
            if (ids is not null && ids.Any(id => id >= model.VocabSize))
            {
                throw Problem($"prompt[{i}] has token ids at or above the model's vocabulary size ({model.VocabSize}).", "prompt");
            }

            tokens[i] = StartOf(model, ids ?? model.Encode(text ?? ""), $"prompt[{i}]");
        }

        // Every field is checked once, on the longest prompt: the one the context has least room for.
        var longest = Array.IndexOf(tokens, tokens.MaxBy(t => t.Length));
        GenerationPlan checkedPlan;
        try
        {
            checkedPlan = Plan(fields, model, tokens[longest], [], "prompt");
        }
        catch (ApiProblemException e) when (e.Problem.Code == "context_length_exceeded")
        {
            throw new ApiProblemException(e.Problem with { Detail = $"{e.Problem.Detail} prompt[{longest}] is the longest of the {prompts.Count} prompts." });
        }

        return [.. tokens.Select(prompt => checkedPlan with
        {
            PromptTokens = prompt,
            MaxTokens = fields.MaxTokens ?? Math.Min(options.Value.DefaultMaxTokens, model.MaxCompletionTokens(prompt.Length)),
        })];
    }

    /// <summary>
    /// A plan for chat messages, rendered with the model's own chat template (or its fallback), whose stop sequences end
    /// the output too but never show in it. A template that refuses the conversation (<c>raise_exception</c>) answers 400
    /// with the template's message.
    /// </summary>
    /// <param name="fields">The request's generation fields.</param>
    /// <param name="messages">The conversation, as chat's messages.</param>
    /// <param name="tools">The request's tools, if it may give any.</param>
    /// <param name="promptParam">The request's name for the conversation, which its errors name (<c>input</c> on the Responses API).</param>
    public GenerationPlan ForChat(GenerationFields fields, IReadOnlyList<JsonNode> messages, ToolRequest? tools = null, string promptParam = "messages")
    {
        var model = Model(fields.Model);
        var toolPlan = tools is null ? null : ToolPlan.Of(tools.Tools, tools.Choice, tools.Parallel, model, tools.Flat);
        if (toolPlan is not null && !model.TakesTools)
        {
            throw Problem($"Model '{model.Name}' has no chat template of its own, so it cannot be given tools.", "tools");
        }

        RenderedChat prompt;
        try
        {
            prompt = model.RenderChat(messages, toolPlan?.Tools);
        }
        catch (ChatRenderException e)
        {
            throw Problem(e.Message, promptParam);
        }

        var plan = Plan(fields, model, prompt.PromptTokens, prompt.StopSequences, promptParam);
        if (toolPlan is { CallSchema: null, OpenedCallSchema: not null, RepeatCalls: false })
        {
            // (Where calls repeat, a completed call only starts the watch for the next one, and min_tokens holds. A
            // forced call is refused below with stop sequences.)
            RefuseMinTokens(fields, "tools here: a tool call ends the output as soon as it is complete (with parallel_tool_calls false, or a template that lists calls)");
        }

        if (toolPlan?.CallSchema is { } calls)
        {
            if (plan.OutputSchema is not null)
            {
                throw Problem("A forced tool call (tool_choice required or a function) cannot be combined with response_format.", "tool_choice");
            }

            RefuseWholeValueConflicts(fields, plan.Stop, "a forced tool call (tool_choice required or a function): the output ends as soon as the call is complete");
            plan = plan with { OutputSchema = calls, TemplateStop = [] };
        }

        if (toolPlan is { CallOpening: { } opening, OpenedCallSchema: { } opened } && plan.OutputSchema is null)
        {
            plan = plan with { OutputSchema = opened, OutputSchemaTrigger = opening, OutputSchemaRepeats = toolPlan.RepeatCalls };
        }

        return plan with { Tools = toolPlan };
    }

    /// <summary>
    /// The tokens a completion prompt starts from. An empty one (<c>""</c>, <c>[]</c> of ids) is served as OpenAI serves
    /// it: the model starts from its beginning-of-sequence token, which is then the one prompt token prefilled, reported
    /// in <c>usage</c> and charged. A model without such a token has nothing to start from: 400 naming <c>prompt</c>.
    /// </summary>
    private static int[] StartOf(CatalogModel model, int[] tokens, string which) =>
        tokens.Length > 0 ? tokens
        : model.BeginningOfSequence is { } bos && bos < model.VocabSize ? [bos]
        : throw Problem(
            $"{which} is empty, and model '{model.Name}' names no beginning-of-sequence token to start generating from; send a prompt of at least one token.",
            "prompt");

    private GenerationPlan Plan(GenerationFields fields, CatalogModel model, int[] promptTokens, IEnumerable<string> templateStops, string promptParam)
    {
        if (fields.N is < 1 or > MaxChoices)
        {
            throw Problem($"n must be between 1 and {MaxChoices}.", "n");
        }

        var maxParam = fields.MaxTokensParam;
        if (fields.MaxTokens is < 1)
        {
            throw Problem($"{maxParam} must be at least 1.", maxParam);
        }

        var sampling = SamplingOf(fields, model);
        var stop = PromptParser.Stop(fields.Stop);
        if (promptTokens.Length == 0)
        {
            throw Problem("The prompt must not be empty.", promptParam);
        }

        var room = model.MaxCompletionTokens(promptTokens.Length);
        if (room < 1)
        {
            throw new ApiProblemException(ApiProblems.ContextLengthExceeded(model.Name, model.ContextLength, promptTokens.Length, promptParam));
        }

        // Asked for more than fits: refused as OpenAI and vLLM refuse it, rather than cut short without a word. Without a
        // limit the job may use what the context leaves.
        if (fields.MaxTokens is { } asked && asked > room)
        {
            throw new ApiProblemException(ApiProblems.ContextLengthExceeded(model.ContextLength, promptTokens.Length, asked, maxParam));
        }

        var maxTokens = fields.MaxTokens ?? Math.Min(options.Value.DefaultMaxTokens, room);
        var schema = fields.TextFormat.ValueKind is JsonValueKind.Undefined
            ? ResponseFormats.SchemaOf(fields.ResponseFormat, model)
            : ResponseFormats.SchemaOfTextFormat(fields.TextFormat, model);
        if (schema is not null)
        {
            RefuseWholeValueConflicts(fields, stop, "response_format: the output ends as soon as its JSON value is complete");
        }

        return new GenerationPlan(model, promptTokens, maxTokens, sampling, stop)
        {
            // An output that is one constrained value ends when the value does: a template stop's text inside it (a
            // string field holding "</s>") would only cut the value short.
            TemplateStop = schema is null ? [.. templateStops.Distinct(StringComparer.Ordinal)] : [],
            Output = OutputOf(fields, model, maxTokens),
            User = UserOf(fields.User),
            Priority = PriorityOf(fields.Priority),
            Choices = fields.N ?? 1,
            OutputSchema = schema,
        };
    }

    /// <summary>
    /// A min_tokens above 0 with an output that ends when a constrained value completes (<paramref name="why"/>): the two
    /// cannot both hold, and neither is dropped without a word.
    /// </summary>
    private static void RefuseMinTokens(GenerationFields fields, string why)
    {
        if (fields.MinTokens is > 0)
        {
            throw Problem($"min_tokens cannot be combined with {why}.", "min_tokens");
        }
    }

    /// <summary>
    /// An output that is one constrained value from its first token (<paramref name="why"/>) takes neither min_tokens
    /// nor stop sequences: a stop could only end it inside the value, which would then not parse.
    /// </summary>
    private static void RefuseWholeValueConflicts(GenerationFields fields, string[] stop, string why)
    {
        RefuseMinTokens(fields, why);
        if (stop.Length > 0)
        {
            throw Problem($"stop cannot be combined with {why}; a stop sequence could only cut the value short.", "stop");
        }
    }

    /// <summary>
    /// The sampling settings, each checked against its range. The model's own defaults (genai_config.json's search
    /// section, generation_config.json) fill what the request leaves out; OpenAI's defaults fill the rest.
    /// </summary>
    private static JobSampling SamplingOf(GenerationFields fields, CatalogModel model)
    {
        if (fields.Temperature is { } temperature && (float.IsNaN(temperature) || temperature is < 0 or > 2))
        {
            throw Problem("temperature must be between 0 and 2.", "temperature");
        }

        if (fields.TopP is { } topP && (float.IsNaN(topP) || topP is <= 0 or > 1))
        {
            throw Problem("top_p must be greater than 0 and at most 1.", "top_p");
        }

        if (fields.TopK is < -1)
        {
            throw Problem("top_k must be -1 or 0 (off), or a positive number of tokens.", "top_k");
        }

        if (fields.MinP is { } minP && (float.IsNaN(minP) || minP is < 0 or > 1))
        {
            throw Problem("min_p must be between 0 and 1.", "min_p");
        }

        Penalty(fields.PresencePenalty, "presence_penalty");
        Penalty(fields.FrequencyPenalty, "frequency_penalty");
        if (fields.RepetitionPenalty is { } repetition && (!float.IsFinite(repetition) || repetition is <= 0 or > SamplingOptions.MaxRepetitionPenalty))
        {
            throw Problem($"repetition_penalty must be greater than 0 and at most {SamplingOptions.MaxRepetitionPenalty} (1 is off).", "repetition_penalty");
        }

        var defaults = model.SamplingDefaults;
        return new JobSampling(
            fields.Temperature ?? defaults.Temperature ?? 1f,
            fields.TopP ?? defaults.TopP ?? 1f,
            fields.TopK is { } topK ? Math.Max(0, topK) : defaults.TopK ?? 0,
            fields.Seed is { } seed ? unchecked((ulong)seed) : null,
            MinP: fields.MinP ?? defaults.MinP ?? 0f,
            PresencePenalty: fields.PresencePenalty ?? 0f,
            FrequencyPenalty: fields.FrequencyPenalty ?? 0f,
            RepetitionPenalty: fields.RepetitionPenalty ?? defaults.RepetitionPenalty ?? 1f,
            LogitBias: LogitBias(fields.LogitBias, model));
    }

    private static void Penalty(float? value, string param)
    {
        if (value is { } penalty && (float.IsNaN(penalty) || penalty is < -2 or > 2))
        {
            throw Problem($"{param} must be between -2 and 2.", param);
        }
    }

    /// <summary>OpenAI's <c>logit_bias</c>: an object from token ids (strings) of the model to biases of −100 to 100.</summary>
    private static Dictionary<int, float>? LogitBias(JsonElement bias, CatalogModel model)
    {
        if (bias.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return null;
        }

        if (bias.ValueKind != JsonValueKind.Object)
        {
            throw Problem("logit_bias must be an object mapping token ids to biases.", "logit_bias");
        }

        if (bias.EnumerateObject().Count() > MaxTokenIdEntries)
        {
            throw Problem($"logit_bias may hold at most {MaxTokenIdEntries} tokens.", "logit_bias");
        }

        var result = new Dictionary<int, float>();
        foreach (var entry in bias.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id >= model.VocabSize)
            {
                throw Problem($"logit_bias key '{entry.Name}' is not a token id of model '{model.Name}' (0 to {model.VocabSize - 1}).", "logit_bias");
            }

            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetDouble(out var value) || value is < -100 or > 100)
            {
                throw Problem($"logit_bias values must be numbers from -100 to 100 (token {entry.Name}).", "logit_bias");
            }

            if (!result.TryAdd(id, (float)value))
            {
                // "1" and "01" name one token: which bias would win is as ambiguous as a key given twice.
                throw Problem($"logit_bias names token {id} more than once.", "logit_bias");
            }
        }

        return result.Count == 0 ? null : result;
    }

    /// <summary>End conditions and log probabilities: min_tokens, stop_token_ids, ignore_eos, include_stop_str_in_output, logprobs.</summary>
    private static JobOutputOptions OutputOf(GenerationFields fields, CatalogModel model, int maxTokens)
    {
        if (fields.MinTokens is { } min && (min < 0 || min > maxTokens))
        {
            throw Problem($"min_tokens must be between 0 and the maximum tokens ({maxTokens}).", "min_tokens");
        }

        if (fields.StopTokenIds is { Length: > MaxTokenIdEntries })
        {
            throw Problem($"stop_token_ids may hold at most {MaxTokenIdEntries} ids.", "stop_token_ids");
        }

        if (fields.StopTokenIds is { } ids && ids.Any(id => id < 0 || id >= model.VocabSize))
        {
            throw Problem($"stop_token_ids must be token ids of model '{model.Name}' (0 to {model.VocabSize - 1}).", "stop_token_ids");
        }

        if (fields.TopLogprobs is < 0 or > MaxTopLogprobs)
        {
            throw Problem($"{fields.TopLogprobsParam} must be between 0 and {MaxTopLogprobs}.", fields.TopLogprobsParam);
        }

        return new JobOutputOptions(
            fields.MinTokens ?? 0,
            fields.StopTokenIds is { Length: > 0 } stopIds ? stopIds : null,
            fields.TopLogprobs,
            fields.IncludeStopStrInOutput == true,
            fields.IgnoreEos == true,
            fields.SkipSpecialTokens == true);
    }

    private static string? UserOf(string? user) =>
        user is { Length: > MaxUserLength } ? throw Problem($"user must be at most {MaxUserLength} characters.", "user") : user;

    /// <summary>A priority class by name; whether the tenant may use it is checked at submission, where its class is known.</summary>
    private static PriorityClass? PriorityOf(JsonElement priority) => priority.ValueKind switch
    {
        JsonValueKind.Undefined or JsonValueKind.Null => null,
        JsonValueKind.String when priority.GetString() is "low" => PriorityClass.Low,
        JsonValueKind.String when priority.GetString() is "standard" => PriorityClass.Standard,
        JsonValueKind.String when priority.GetString() is "high" => PriorityClass.High,
        _ => throw Problem("priority must be low, standard or high (at most the tenant's class).", "priority"),
    };

    /// <summary>Most alternatives per token (OpenAI's chat limit; the engine's too).</summary>
    public const int MaxTopLogprobs = 20;

    /// <summary>
    /// Most entries in <c>logit_bias</c>, and most ids in <c>stop_token_ids</c> (OpenAI takes at most 300 biases). A job
    /// keeps both with its record for as long as it keeps its content, so neither may grow with the body alone.
    /// </summary>
    public const int MaxTokenIdEntries = 1024;

    /// <summary>Most choices per request (OpenAI's limit for <c>n</c>).</summary>
    public const int MaxChoices = 128;

    /// <summary>Longest <c>user</c> recorded on a job.</summary>
    public const int MaxUserLength = 256;

    private static ApiProblemException Problem(string detail, string param) =>
        new(ApiProblems.BadRequest(detail, "invalid_value", param));
}
