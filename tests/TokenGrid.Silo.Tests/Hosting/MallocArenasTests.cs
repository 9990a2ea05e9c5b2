using TokenGrid.Silo.Hosting;

namespace TokenGrid.Silo.Tests.Hosting;

/// <summary>The silo's cap on glibc's malloc arenas (<see cref="MallocArenas"/>), on this machine's real C library.</summary>
public sealed class MallocArenasTests
{
    [Fact]
    public void An_operators_MALLOC_ARENA_MAX_is_left_as_set()
    {
        var asked = new List<string>();

        var result = MallocArenas.Cap(name =>
        {
            asked.Add(name);
            return "8";
        });

        Assert.Equal(MallocArenaCap.OperatorSet, result);
        Assert.Equal([MallocArenas.EnvironmentVariable], asked);
    }

    [Fact]
    public void Without_it_glibc_takes_the_cap()
    {
        // Linux with glibc, as the silo ships (Debian's here): the library binds by name and mallopt accepts the
        // parameter (it answers 1 for success).
        Assert.Equal(MallocArenaCap.Capped, MallocArenas.Cap(_ => null));
        Assert.Equal(MallocArenaCap.Capped, MallocArenas.Cap(_ => ""));
    }
}
