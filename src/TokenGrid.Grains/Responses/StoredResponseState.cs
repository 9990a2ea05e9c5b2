using TokenGrid.Abstractions.Responses;

namespace TokenGrid.Grains.Responses;

/// <summary>What a stored response grain persists: the response, if one was stored under its id.</summary>
[GenerateSerializer, Alias("tg.StoredResponseState")]
public sealed class StoredResponseState
{
    /// <summary>The response; null while none is stored.</summary>
    [Id(0)] public StoredResponse? Response { get; set; }
}
