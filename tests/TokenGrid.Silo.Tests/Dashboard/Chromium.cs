using Microsoft.Playwright;

namespace TokenGrid.Silo.Tests.Dashboard;

/// <summary>
/// Debian's Chromium (installed by scripts/chromium.sh), driven headless through Playwright's driver; no browser is
/// ever downloaded. <c>TOKENGRID_CHROMIUM</c> points at another binary.
/// </summary>
public static class Chromium
{
    public static string ExecutablePath => Environment.GetEnvironmentVariable("TOKENGRID_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    /// <summary>Launches a fresh headless browser (its own empty profile).</summary>
    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        Assert.True(File.Exists(ExecutablePath), $"Chromium is not at {ExecutablePath}: run scripts/chromium.sh (or set TOKENGRID_CHROMIUM).");
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                ChromiumSandbox = false,
                Args =
                [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                ],
            });
            return (playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>The repository's <c>artifacts/test-results</c> folder, which CI keeps (created when missing).</summary>
    public static string ArtifactsDirectory()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "TokenGrid.sln")))
        {
            directory = directory.Parent;
        }

        var root = directory?.FullName ?? Path.GetTempPath();
        var results = Path.Combine(root, "artifacts", "test-results");
        Directory.CreateDirectory(results);
        return results;
    }
}
