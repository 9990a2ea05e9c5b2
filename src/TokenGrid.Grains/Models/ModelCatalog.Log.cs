using Microsoft.Extensions.Logging;

namespace TokenGrid.Grains.Models;

public sealed partial class ModelCatalog
{
    [LoggerMessage(EventId = 1250, Level = LogLevel.Information, Message = "Model {Model} read from {Directory} (context {ContextLength}, vocabulary {VocabSize}, weights {Weights})")]
    private static partial void LogLoaded(ILogger logger, string model, string directory, int contextLength, int vocabSize, string weights);
}
