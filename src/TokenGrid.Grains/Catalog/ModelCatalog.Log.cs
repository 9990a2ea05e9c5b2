using Microsoft.Extensions.Logging;

namespace TokenGrid.Grains.Catalog;

public sealed partial class ModelCatalog
{
    [LoggerMessage(EventId = 1250, Level = LogLevel.Information, Message = "Model {Model} read from {Directory} (decoder {ModelFile}, context {ContextLength}, vocabulary {VocabSize}, weights {Weights}, tokenizer {Tokenizer}, fingerprint {Fingerprint}); chats use {ChatFormat}")]
    private static partial void LogLoaded(ILogger logger, string model, string directory, string modelFile, int contextLength, int vocabSize, string weights, string tokenizer, string fingerprint, string chatFormat);

    // No exception object: a bad folder is an operator's mistake to read in one line, not a stack trace.
    [LoggerMessage(EventId = 1251, Level = LogLevel.Error, Message = "Model {Model} in {Directory} is not served: {Reason}")]
    private static partial void LogLoadFailed(ILogger logger, string model, string directory, string reason);
}
