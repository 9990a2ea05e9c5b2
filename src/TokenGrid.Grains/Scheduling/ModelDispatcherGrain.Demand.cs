namespace TokenGrid.Grains.Scheduling;

public sealed partial class ModelDispatcherGrain
{
    /// <inheritdoc/>
    public Task<IReadOnlyDictionary<string, long>> GetDemandByLabelAsync()
    {
        var demand = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var job in _queue.Jobs)
        {
            var request = job.Request;
            foreach (var (key, value) in request.RequiredLabels)
            {
                var label = $"{key}={value}";
                demand[label] = demand.GetValueOrDefault(label) + request.PromptTokens + request.MaxTokens;
            }
        }

        return Task.FromResult<IReadOnlyDictionary<string, long>>(demand);
    }
}
