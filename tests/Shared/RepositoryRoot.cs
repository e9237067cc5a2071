namespace ModelKit.Tests;

/// <summary>The repository's root folder (the one holding ModelKit.sln), found above the test assembly.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "ModelKit.sln"))) return dir.FullName;
        }

        throw new InvalidOperationException("ModelKit.sln was not found above " + AppContext.BaseDirectory);
    }
}
