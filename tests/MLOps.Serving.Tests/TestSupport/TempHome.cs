namespace MLOps.Serving.Tests.TestSupport;

/// <summary>A project home in a fresh temp folder, deleted by <see cref="Delete"/>.</summary>
public static class TempHome
{
    /// <summary>A new, unique folder path under the temp directory (not created).</summary>
    public static string New(string prefix) => Path.Combine(Path.GetTempPath(), $"mlops-{prefix}-{Guid.NewGuid():N}");

    /// <summary>Deletes a home folder; a file still held by the OS is left for the temp cleaner rather than failing the test.</summary>
    public static void Delete(string? home)
    {
        if (home is null) return;
        try { Directory.Delete(home, recursive: true); }
        catch (DirectoryNotFoundException) { }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
