using TokenGrid.Silo.Hosting;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Hosting;

/// <summary>What the silo says at startup about glibc's malloc arenas (<see cref="MallocArenas"/>), and who sets the cap.</summary>
public sealed class MallocArenasTests
{
    [Fact]
    public void A_set_cap_is_reported_and_an_unset_one_is_warned_about_on_linux_only()
    {
        Assert.Equal(("MALLOC_ARENA_MAX=4", null), MallocArenas.Describe(name => name == "MALLOC_ARENA_MAX" ? "4" : null, isLinux: true));

        var (status, warning) = MallocArenas.Describe(_ => null, isLinux: true);
        Assert.Equal("MALLOC_ARENA_MAX unset", status);
        Assert.Contains("MALLOC_ARENA_MAX=2", warning, StringComparison.Ordinal);

        Assert.Null(MallocArenas.Describe(_ => "", isLinux: false).Warning);
    }

    [Fact]
    public void Every_launcher_the_repository_ships_sets_the_cap()
    {
        var root = RepositoryRoot.Path;
        var dockerfile = File.ReadAllText(Path.Combine(root, "Dockerfile"));
        Assert.Equal(2, dockerfile.Split("ENV MALLOC_ARENA_MAX=2").Length - 1); // the cpu and the gpu image
        Assert.Contains("name: MALLOC_ARENA_MAX", File.ReadAllText(Path.Combine(root, "k8s", "base", "deployment.yaml")), StringComparison.Ordinal);
        Assert.Contains("\"MALLOC_ARENA_MAX\": \"2\"", File.ReadAllText(Path.Combine(root, "src", "TokenGrid.Silo", "Properties", "launchSettings.json")), StringComparison.Ordinal);
        Assert.Contains("MALLOC_ARENA_MAX=2", File.ReadAllText(Path.Combine(root, "scripts", "cluster.sh")), StringComparison.Ordinal);
    }
}
