namespace TokenGrid.Silo.Tests.Support;

/// <summary>The repository the tests were built from: the folder holding <c>TokenGrid.sln</c> above the test binaries.</summary>
public static class RepositoryRoot
{
    /// <summary>The repository's root folder.</summary>
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "TokenGrid.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find the repository root (TokenGrid.sln) above the test binaries.");
    }
}
