namespace MLOps.FeatureStore.Tests.TestSupport;

/// <summary>A per-test temporary folder, deleted on dispose.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mlops-fs-tests", Guid.NewGuid().ToString("N"));
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
            // a file may still be closing; the OS temp folder is cleaned eventually
        }
    }
}

/// <summary>Opens projects in a temp folder and finds the test data.</summary>
public static class TestProjects
{
    public static Task<MLOpsProject> OpenAsync(TempFolder folder, string name = "test", TimeProvider? time = null)
    {
        var b = MLOpsProject.Configure(name).UseHome(folder.Path).CaptureGit(false);
        if (time is not null) b.UseTimeProvider(time);
        return b.OpenAsync();
    }

    public static string Data(string name) => System.IO.Path.Combine(TestContext.CurrentContext.TestDirectory, "data", name);

    public static string FlightsJson => Data("flights-20k.json");

    public static string AirportsCsv => Data("airports.csv");
}
