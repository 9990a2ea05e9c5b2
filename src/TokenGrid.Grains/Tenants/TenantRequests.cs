using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tenants;

/// <summary>The checks a tenant grain makes on its callers' arguments before anything is queued.</summary>
internal static class TenantRequests
{
    /// <summary>The largest page of ledger lines or job ids.</summary>
    public const int MaxPageSize = 1000;

    private const int MaxNameLength = 200;
    private const int MaxKeyNameLength = 100;

    public static void ValidateKeyName(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Trim().Length > MaxKeyNameLength)
        {
            throw new InvalidFieldException("name", $"name must be 1 to {MaxKeyNameLength} characters.");
        }
    }

    /// <summary>
    /// Checks a tenant's name and budget; a problem is an <see cref="InvalidFieldException"/> naming the field's
    /// path in the admin API's body (<c>name</c>, <c>budget.weight</c>, <c>budget.plan.name</c>).
    /// </summary>
    public static void Validate(TenantSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (string.IsNullOrWhiteSpace(spec.Name) || spec.Name.Trim().Length > MaxNameLength)
        {
            throw new InvalidFieldException("name", $"name must be 1 to {MaxNameLength} characters.");
        }

        if (spec.Budget is null)
        {
            throw new InvalidFieldException("budget", "budget is required.");
        }

        if (spec.Budget.Validate() is { } problem)
        {
            throw new InvalidFieldException(FieldOf(problem) is { } field ? "budget." + field : "budget", problem);
        }
    }

    /// <summary>
    /// The field a budget's problem names: its first word, as every message of <see cref="TenantBudget.Validate"/> starts
    /// with the field's snake_case path; null when it does not.
    /// </summary>
    private static string? FieldOf(string problem)
    {
        var field = problem[..Math.Max(0, problem.IndexOf(' ', StringComparison.Ordinal))];
        return field.Length > 0 && field.All(c => char.IsAsciiLetterLower(c) || c is '_' or '.') ? field : null;
    }

    public static void Validate(AdmissionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequireJobId(request.JobId);
        if (string.IsNullOrWhiteSpace(request.Model))
        {
            throw new ArgumentException("model is required.", nameof(request));
        }

        if (request.PromptTokens < 0 || request.MaxCompletionTokens < 0)
        {
            throw new ArgumentException("Token counts must not be negative.", nameof(request));
        }
    }

    public static void Validate(SettlementRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequireJobId(request.JobId);
        if (request.PromptTokens < 0 || request.CompletionTokens < 0 || request.CachedPromptTokens < 0)
        {
            throw new ArgumentException("Token counts must not be negative.", nameof(request));
        }
    }

    private static void RequireJobId(string jobId)
    {
        if (string.IsNullOrWhiteSpace(jobId))
        {
            throw new ArgumentException("job_id is required.", nameof(jobId));
        }
    }

    public static void CheckPageSize(int limit)
    {
        if (limit is < 1 or > MaxPageSize)
        {
            throw new InvalidFieldException("limit", $"limit must be between 1 and {MaxPageSize}.");
        }
    }
}
