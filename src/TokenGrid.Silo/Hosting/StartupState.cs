namespace TokenGrid.Silo.Hosting;

/// <summary>What startup has achieved, for the startup probe and the banner.</summary>
internal sealed class StartupState
{
    private volatile bool _started;

    /// <summary>The profile in use.</summary>
    public required string Profile { get; init; }

    /// <summary>True once the silo has started, the catalog is loaded and the demo tenant exists.</summary>
    public bool Started => _started;

    /// <summary>The demo tenant's key when it was issued at this start (null when configured or disabled).</summary>
    public string? DemoApiKey { get; private set; }

    /// <summary>True when the demo key was configured rather than issued.</summary>
    public bool DemoKeyConfigured { get; private set; }

    /// <summary>Records the end of startup.</summary>
    public void MarkStarted(string? demoApiKey, bool demoKeyConfigured)
    {
        DemoApiKey = demoApiKey;
        DemoKeyConfigured = demoKeyConfigured;
        _started = true;
    }
}
