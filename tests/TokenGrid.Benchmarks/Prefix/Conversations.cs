using TokenGrid.Inference.Models;

namespace TokenGrid.Benchmarks.Prefix;

/// <summary>
/// The <c>prefix</c> workload: tenants with a long system prompt each, and conversations that grow by short turns. A
/// turn's prompt is the tenant's system prompt, then every earlier user and assistant turn of its conversation, then the
/// new user turn, as a chat client resends its history. Token ids come from English text through the model's tokenizer
/// (folded into a small model's range), so the vocabulary is a real one; the assistant turns are text too, not the
/// model's output, so both sides of a comparison send exactly the same prompts.
/// </summary>
public sealed class Conversations
{
    private readonly int[] _text;
    private readonly int _systemTokens;
    private readonly int _userTokens;
    private readonly int _assistantTokens;

    public Conversations(DecoderModel model, int tenants, int perTenant, int systemTokens, int userTokens, int assistantTokens)
    {
        var text = string.Join(' ', Enumerable.Range(0, 3000).Select(i =>
            $"Tenant note {i}: the office meters {i * 13 % 97} tokens for region {i % 7}, and replies on turn {i * 3 % 11}."));
        var vocab = model.Config.VocabSize;
        _text = [.. model.Tokenizer.Encode(text).Select(id => id % vocab)];
        Model = model;
        Tenants = tenants;
        PerTenant = perTenant;
        _systemTokens = systemTokens;
        _userTokens = userTokens;
        _assistantTokens = assistantTokens;
    }

    public DecoderModel Model { get; }

    public int Tenants { get; }

    public int PerTenant { get; }

    /// <summary>Every conversation, tenant by tenant.</summary>
    public IEnumerable<(int Tenant, int Conversation)> All =>
        Enumerable.Range(0, Tenants).SelectMany(t => Enumerable.Range(0, PerTenant).Select(c => (t, c)));

    /// <summary>The prompt of turn <paramref name="turn"/> (0 = the first) of a tenant's conversation.</summary>
    public int[] Prompt(int tenant, int conversation, int turn)
    {
        var prompt = new List<int>(Slice(tenant * 7919, _systemTokens));
        for (var k = 0; k <= turn; k++)
        {
            var seed = (((tenant * 31) + conversation) * 101) + (k * 7);
            prompt.AddRange(Slice(seed * 53, _userTokens));
            if (k < turn)
            {
                prompt.AddRange(Slice((seed * 53) + 977, _assistantTokens));
            }
        }

        return [.. prompt];
    }

    private IEnumerable<int> Slice(int offset, int length)
    {
        var start = offset % (_text.Length - length);
        return _text.Skip(start).Take(length);
    }
}
