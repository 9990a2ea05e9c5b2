using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Models;
using System.Text.Json.Nodes;
using TokenGrid.Inference.Templates;
using TokenGrid.Silo.Hosting;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Generation;

/// <summary>
/// Validates a generation request against the model catalog: the model exists, the sampling is in range, the prompt
/// is counted with the model's tokenizer and fits the context, and <c>max_tokens</c> is capped at what is left.
/// </summary>
internal sealed class GenerationPlanner(ModelCatalog catalog, IOptions<ApiOptions> options)
{
    /// <summary>The catalog model named <paramref name="name"/>, or a 404 <c>model_not_found</c> problem.</summary>
    public CatalogModel Model(string? name) =>
        string.IsNullOrWhiteSpace(name) ? throw Problem("model is required.", "model")
        : catalog.TryGet(name, out var model) ? model
        : throw new ApiProblemException(ApiProblems.ModelNotFound(name));

    /// <summary>A plan for a text prompt or prompt token ids.</summary>
    public GenerationPlan ForPrompt(GenerationFields fields, string? text, int[]? tokens)
    {
        var model = Model(fields.Model);
        var promptTokens = tokens ?? model.Tokenizer.Encode(text ?? "");
        if (tokens is not null && tokens.Any(id => id >= model.Config.VocabSize))
        {
            throw Problem($"prompt token ids must be below the model's vocabulary size ({model.Config.VocabSize}).", "prompt");
        }

        return Plan(fields, model, promptTokens, [], "prompt");
    }

    /// <summary>
    /// A plan for chat messages, rendered with the model's own chat template (or its fallback), whose stop sequences are
    /// added. A template that refuses the conversation (<c>raise_exception</c>) answers 400 with the template's message.
    /// </summary>
    public GenerationPlan ForChat(GenerationFields fields, IReadOnlyList<JsonNode> messages)
    {
        var model = Model(fields.Model);
        ChatPrompt prompt;
        try
        {
            prompt = model.Chat.Render(messages);
        }
        catch (ChatPromptException e)
        {
            throw Problem(e.Message, "messages");
        }

        return Plan(fields, model, prompt.Ids, model.Chat.StopSequences, "messages");
    }

    private GenerationPlan Plan(GenerationFields fields, CatalogModel model, int[] promptTokens, IEnumerable<string> templateStops, string promptParam)
    {
        if (fields.N is { } n && n != 1)
        {
            throw Problem("Only n = 1 is supported.", "n");
        }

        if (fields.Temperature is { } temperature && (float.IsNaN(temperature) || temperature is < 0 or > 2))
        {
            throw Problem("temperature must be between 0 and 2.", "temperature");
        }

        if (fields.TopP is { } topP && (float.IsNaN(topP) || topP is <= 0 or > 1))
        {
            throw Problem("top_p must be greater than 0 and at most 1.", "top_p");
        }

        if (fields.TopK is < 0)
        {
            throw Problem("top_k must not be negative.", "top_k");
        }

        if (fields.MaxTokens is < 1)
        {
            throw Problem("max_tokens must be at least 1.", "max_tokens");
        }

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

        // The model's own defaults (genai_config.json's search section, generation_config.json) fill what the request
        // leaves out; OpenAI's defaults fill the rest.
        var defaults = model.Config.GenerationDefaults;
        var sampling = new JobSampling(
            fields.Temperature ?? defaults.DefaultTemperature ?? 1f,
            fields.TopP ?? defaults.TopP ?? 1f,
            fields.TopK ?? defaults.TopK ?? 0,
            fields.Seed is { } seed ? unchecked((ulong)seed) : null);
        var maxTokens = Math.Min(fields.MaxTokens ?? options.Value.DefaultMaxTokens, room);
        return new GenerationPlan(model, promptTokens, maxTokens, sampling, [.. stop.Concat(templateStops).Distinct(StringComparer.Ordinal)]);
    }

    private static ApiProblemException Problem(string detail, string param) =>
        new(ApiProblems.BadRequest(detail, "invalid_value", param));
}
