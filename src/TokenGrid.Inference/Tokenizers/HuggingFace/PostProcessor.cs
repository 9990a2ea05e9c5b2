namespace TokenGrid.Inference.Tokenizers.HuggingFace;

/// <summary>
/// What the <c>post_processor</c> adds around a single sequence when special tokens are asked for: the ids
/// before and after it. <c>TemplateProcessing</c> (its <c>single</c> template), <c>BertProcessing</c>,
/// <c>RobertaProcessing</c> and <c>Sequence</c> add tokens; <c>ByteLevel</c> only trims offsets, so it adds none.
/// </summary>
internal sealed record PostProcessor(IReadOnlyList<int> Prefix, IReadOnlyList<int> Suffix)
{
    public static PostProcessor None { get; } = new([], []);

    public static PostProcessor Read(JsonConfig config)
    {
        if (config.IsNull)
        {
            return None;
        }

        switch (config.Type)
        {
            case "ByteLevel":
                return None;
            case "Sequence":
                var prefix = new List<int>();
                var suffix = new List<int>();
                foreach (var step in config.Items("processors"))
                {
                    // Each processor wraps what the previous ones produced.
                    var inner = Read(step);
                    prefix.InsertRange(0, inner.Prefix);
                    suffix.AddRange(inner.Suffix);
                }

                return new PostProcessor(prefix, suffix);
            case "TemplateProcessing":
                return ReadTemplate(config);
            case "BertProcessing":
            case "RobertaProcessing":
                return new PostProcessor([PairId(config.Child("cls"))], [PairId(config.Child("sep"))]);
            default:
                throw config.UnsupportedType();
        }
    }

    private static int PairId(JsonConfig pair) =>
        pair.Element.ValueKind == System.Text.Json.JsonValueKind.Array && pair.Element.GetArrayLength() == 2 && pair.Element[1].TryGetInt32(out var id)
            ? id
            : throw pair.Invalid("must be [token, id]");

    private static PostProcessor ReadTemplate(JsonConfig config)
    {
        var specials = config.Child("special_tokens");
        var prefix = new List<int>();
        var suffix = new List<int>();
        var seenSequence = false;
        foreach (var item in config.Items("single"))
        {
            if (!item.Child("Sequence").IsNull)
            {
                if (seenSequence || item.Child("Sequence").String("id") != "A")
                {
                    throw item.Unsupported("(a single template must hold sequence A once)");
                }

                seenSequence = true;
                continue;
            }

            var name = item.Child("SpecialToken").String("id");
            var special = specials.Child(name);
            if (special.IsNull)
            {
                throw special.Invalid("is missing (the template names it)");
            }

            (seenSequence ? suffix : prefix).AddRange(special.Items("ids").Select(id => id.Element.GetInt32()));
        }

        return new PostProcessor(prefix, suffix);
    }
}
