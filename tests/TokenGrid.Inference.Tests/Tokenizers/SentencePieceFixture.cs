using Google.Protobuf;
using TokenGrid.Inference.Tests.Tokenizers.SentencePiece;
using TokenGrid.Inference.Tokenizers;
using PieceType = TokenGrid.Inference.Tests.Tokenizers.SentencePiece.ModelProto.Types.SentencePiece.Types.Type;

namespace TokenGrid.Inference.Tests.Tokenizers;

/// <summary>
/// A small Llama-style SentencePiece BPE model: <c>&lt;unk&gt;</c>, <c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c>, the 256
/// byte pieces for byte fallback, the lowercase letters and <c>▁</c>, and merges up to <c>▁hello</c>.
/// </summary>
internal static class SentencePieceFixture
{
    public const int UnknownId = 0;
    public const int BosId = 1;
    public const int EosId = 2;

    /// <summary>Merged pieces with their scores; SentencePiece BPE merges the highest-scoring pair first.</summary>
    private static readonly (string Piece, float Score)[] s_merged =
        [("ll", -1f), ("he", -2f), ("▁he", -3f), ("llo", -4f), ("▁hello", -5f), ("▁h", -6f)];

    /// <summary>The model, pieces in id order.</summary>
    public static ModelProto Build()
    {
        var model = new ModelProto
        {
            TrainerSpec = new TrainerSpec
            {
                ModelType = TrainerSpec.Types.ModelType.Bpe,
                ByteFallback = true,
                UnkId = UnknownId,
                BosId = BosId,
                EosId = EosId,
                PadId = -1,
                UnkPiece = "<unk>",
                BosPiece = "<s>",
                EosPiece = "</s>",
                PadPiece = "<pad>",
                TreatWhitespaceAsSuffix = false,
            },
            NormalizerSpec = new NormalizerSpec
            {
                Name = "identity",
                PrecompiledCharsmap = ByteString.Empty,
                AddDummyPrefix = true,
                RemoveExtraWhitespaces = false,
                EscapeWhitespaces = true,
            },
        };
        Add(model, "<unk>", 0f, PieceType.Unknown);
        Add(model, "<s>", 0f, PieceType.Control);
        Add(model, "</s>", 0f, PieceType.Control);
        for (var b = 0; b < 256; b++)
        {
            Add(model, $"<0x{b:X2}>", 0f, PieceType.Byte);
        }

        foreach (var (piece, score) in s_merged)
        {
            Add(model, piece, score, PieceType.Normal);
        }

        // Single characters score below every merge, as in a trained model.
        Add(model, "▁", -100f, PieceType.Normal);
        for (var c = 'a'; c <= 'z'; c++)
        {
            Add(model, c.ToString(), -101f - (c - 'a'), PieceType.Normal);
        }

        model.TrainerSpec.VocabSize = model.Pieces.Count;
        return model;
    }

    /// <summary>The id of <paramref name="piece"/> in <see cref="Build"/>'s model.</summary>
    public static int IdOf(string piece)
    {
        var pieces = Build().Pieces;
        for (var i = 0; i < pieces.Count; i++)
        {
            if (pieces[i].Piece == piece)
            {
                return i;
            }
        }

        throw new ArgumentException($"No piece '{piece}'.", nameof(piece));
    }

    public static void Write(TempDirectory directory)
    {
        using var file = System.IO.File.Create(directory.File(TokenizerLoader.SentencePieceFile));
        Build().WriteTo(file);
    }

    /// <summary>Loads the model through <c>tokenizer.model</c>, with <c>&lt;s&gt;</c> as beginning of sequence.</summary>
    public static ModelTokenizer Load()
    {
        using var directory = new TempDirectory();
        Write(directory);
        return TokenizerLoader.Load(directory.Path, BosId);
    }

    private static void Add(ModelProto model, string piece, float score, PieceType type) =>
        model.Pieces.Add(new ModelProto.Types.SentencePiece { Piece = piece, Score = score, Type = type });
}
