using System.Text.Json;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Catalog;
using TokenGrid.Silo.OpenAi;

namespace TokenGrid.Silo.Serving;

/// <summary>A validated generation request: tokenized, checked against the context and ready to become a <see cref="JobSpec"/>.</summary>
/// <param name="Model">The catalog model.</param>
/// <param name="PromptTokens">Prompt as token ids of the model.</param>
/// <param name="MaxTokens">Most tokens to generate, within the model's context.</param>
/// <param name="Sampling">Sampling settings.</param>
/// <param name="Stop">The request's stop sequences.</param>
internal sealed record GenerationPlan(CatalogModel Model, int[] PromptTokens, int MaxTokens, JobSampling Sampling, string[] Stop)
{
    /// <summary>For chat, the template's own stop sequences: they end the output, but never show in it.</summary>
    public string[] TemplateStop { get; init; } = [];

    /// <summary>End conditions and log probabilities.</summary>
    public JobOutputOptions Output { get; init; } = JobOutputOptions.None;

    /// <summary>OpenAI's <c>user</c>, recorded on the job.</summary>
    public string? User { get; init; }

    /// <summary>The priority class the request asked for; null: the tenant's.</summary>
    public PriorityClass? Priority { get; init; }

    /// <summary>OpenAI's <c>n</c>: how many choices to generate for the prompt, one job each. Default: 1.</summary>
    public int Choices { get; init; } = 1;

    /// <summary>The chat request's tools and how they may be called; null without tools.</summary>
    public ToolPlan? Tools { get; init; }

    /// <summary>Structured outputs: the JSON schema the output must be a value of; null for free text.</summary>
    public string? OutputSchema { get; init; }

    /// <summary>With <see cref="OutputSchema"/>: the text from whose first appearance it holds (a tool call's opening); null: the whole output.</summary>
    public string? OutputSchemaTrigger { get; init; }

    /// <summary>With <see cref="OutputSchemaTrigger"/>: each appearance of it holds the next value, and the output goes on after one (parallel tool calls).</summary>
    public bool OutputSchemaRepeats { get; init; }

    /// <summary>A reader of the reply for tool calls: in the model's own syntax, or plain JSON when a call is forced; null when calls are not read.</summary>
    public ToolCallReader? ToolReader() => Tools switch
    {
        null or { Mode: ToolMode.None } => null,
        { Mode: var mode } => Model.ToolCallReader(plainJson: mode == ToolMode.Forced),
    };

    /// <summary>The job for <paramref name="tenantId"/>.</summary>
    public JobSpec ToJobSpec(string tenantId, bool keepOutput, TimeSpan timeout) => new()
    {
        TenantId = tenantId,
        Model = Model.Name,
        PromptTokens = PromptTokens,
        MaxTokens = MaxTokens,
        Sampling = Sampling,
        Stop = Stop,
        TemplateStop = TemplateStop,
        KeepOutput = keepOutput,
        Timeout = timeout,
        Output = Output,
        User = User,
        Priority = Priority,
        OutputSchema = OutputSchema,
        OutputSchemaTrigger = OutputSchemaTrigger,
        OutputSchemaRepeats = OutputSchemaRepeats,
        ModelFingerprint = Model.Fingerprint,
    };
}

/// <summary>The generation fields shared by completions, chat completions and jobs, before validation.</summary>
internal sealed record GenerationFields
{
    /// <summary>The fields every endpoint shares, from the request's sampling part.</summary>
    public static GenerationFields From(SamplingRequestBody body, int? maxTokens, string maxTokensParam) => new()
    {
        Model = body.Model,
        MaxTokens = maxTokens,
        MaxTokensParam = maxTokensParam,
        Temperature = body.Temperature,
        TopP = body.TopP,
        TopK = body.TopK,
        MinP = body.MinP,
        Seed = body.Seed,
        Stop = body.Stop,
        PresencePenalty = body.PresencePenalty,
        FrequencyPenalty = body.FrequencyPenalty,
        RepetitionPenalty = body.RepetitionPenalty,
        LogitBias = body.LogitBias,
        MinTokens = body.MinTokens,
        StopTokenIds = body.StopTokenIds,
        IgnoreEos = body.IgnoreEos,
        IncludeStopStrInOutput = body.IncludeStopStrInOutput,
        SkipSpecialTokens = body.SkipSpecialTokens,
        User = body.User,
        Priority = body.Priority,
        ResponseFormat = body.ResponseFormat,
    };

    public string? Model { get; init; }

    /// <summary>OpenAI's <c>response_format</c>, as given.</summary>
    public JsonElement ResponseFormat { get; init; }

    /// <summary>The Responses API's <c>text</c> (whose <c>format</c> is <c>response_format</c>'s counterpart), as given; undefined elsewhere.</summary>
    public JsonElement TextFormat { get; init; }

    public int? MaxTokens { get; init; }

    /// <summary>The name the request gave the token limit under (<c>max_tokens</c> or <c>max_completion_tokens</c>).</summary>
    public string MaxTokensParam { get; init; } = "max_tokens";

    public float? Temperature { get; init; }

    public float? TopP { get; init; }

    public int? TopK { get; init; }

    public float? MinP { get; init; }

    public long? Seed { get; init; }

    public JsonElement Stop { get; init; }

    public int? N { get; init; }

    public float? PresencePenalty { get; init; }

    public float? FrequencyPenalty { get; init; }

    public float? RepetitionPenalty { get; init; }

    public JsonElement LogitBias { get; init; }

    public int? MinTokens { get; init; }

    public int[]? StopTokenIds { get; init; }

    public bool? IgnoreEos { get; init; }

    public bool? IncludeStopStrInOutput { get; init; }

    public bool? SkipSpecialTokens { get; init; }

    /// <summary>Log probabilities asked for: null none, else the number of alternatives per token.</summary>
    public int? TopLogprobs { get; init; }

    /// <summary>The request's name for the log probability field (<c>logprobs</c> or <c>top_logprobs</c>).</summary>
    public string TopLogprobsParam { get; init; } = "top_logprobs";

    public string? User { get; init; }

    public JsonElement Priority { get; init; }
}

/// <summary>
/// A request's tool fields as given: <c>tools</c>, <c>tool_choice</c>, <c>parallel_tool_calls</c>; <paramref name="Flat"/>
/// in the Responses API's layout (see <see cref="ToolPlan.Of"/>).
/// </summary>
internal sealed record ToolRequest(JsonElement Tools, JsonElement Choice, bool? Parallel, bool Flat = false);
