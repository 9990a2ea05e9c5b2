namespace TokenGrid.Grains.Jobs;

/// <summary>Chooses the node a job runs on. Called on the job grain's scheduler: await, never block.</summary>
public interface INodeSelector
{
    /// <summary>The id of a live node serving <paramref name="model"/>, or null when no node serves it.</summary>
    Task<string?> SelectAsync(string model);
}
