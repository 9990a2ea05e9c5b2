using TokenGrid.Abstractions.Jobs;

namespace TokenGrid.Silo.Problems;

/// <summary>
/// A job was refused (by its tenant's budget or its model's scheduler) or ended without succeeding; the exception
/// handler answers with <see cref="ApiProblems.ForJob"/>.
/// </summary>
/// <param name="job">The job as it was refused or ended.</param>
/// <param name="param">The request field at fault instead of the problem's own, or null.</param>
public sealed class JobFailedException(JobInfo job, string? param = null)
    : Exception(job.Error ?? $"Job '{job.Id}' ended as {job.Status}.")
{
    /// <summary>The job as it was refused or ended.</summary>
    public JobInfo Job { get; } = job;

    /// <summary>The problem to answer with.</summary>
    public ApiProblem Problem => Param is null ? ApiProblems.ForJob(Job) : ApiProblems.ForJob(Job) with { Param = Param };

    /// <summary>The request field at fault instead of the problem's own, or null.</summary>
    public string? Param { get; } = param;
}
