namespace MLOps.Tests.Support;

/// <summary>A per-test temporary folder, deleted on dispose. Linked into every test project (tests/Shared).</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mlops-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // a file may still be closing on slow file systems; the OS temp folder is cleaned eventually
        }
        catch (UnauthorizedAccessException)
        {
            // the same, on a file the OS still holds
        }
    }
}

/// <summary>Opens projects in a temp folder and finds the test data.</summary>
public static class TestProjects
{
    public static Task<MLOpsProject> OpenAsync(TempFolder folder, string name = "test", TimeProvider? time = null, Action<MLOpsProjectBuilder>? configure = null)
    {
        var b = MLOpsProject.Configure(name).UseHome(folder.Path).CaptureGit(false);
        if (time is not null) b.UseTimeProvider(time);
        configure?.Invoke(b);
        return b.OpenAsync();
    }

    public static string Data(string name) => System.IO.Path.Combine(TestContext.CurrentContext.TestDirectory, "data", name);

    public static string FlightsJson => Data("flights-20k.json");

    public static string AirportsCsv => Data("airports.csv");
}
