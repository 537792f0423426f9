using System.Globalization;
using MLOps.Runs;

namespace MLOps.Core.Tests;

/// <summary>
/// The test assembly doubles as a worker process for multi-process tests:
/// <c>dotnet MLOps.Core.Tests.dll worker &lt;mode&gt; ...</c>.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length < 2 || args[0] != "worker")
        {
            Console.Error.WriteLine("Run the tests with 'dotnet test'. Worker usage: worker <metrics|crash> ...");
            return 2;
        }
        return args[1] switch
        {
            "metrics" => await MetricsWorker(args[2], int.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture), args[5]),
            "crash" => await CrashWorker(args[2]),
            _ => 2,
        };
    }

    /// <summary>Writes runs with metrics, parameters and results into a shared home, as another process would.</summary>
    private static async Task<int> MetricsWorker(string home, int runs, int points, string tag)
    {
        await using var project = await MLOpsProject.Configure("shared").UseHome(home).CaptureGit(false)
            .ConfigureMetrics(m => m.FlushSize = 50).OpenAsync();
        for (var r = 0; r < runs; r++)
        {
            await using var run = await project.Runs.StartAsync("worker", new RunOptions
            {
                Parameters = new Dictionary<string, object> { ["worker"] = tag, ["index"] = r },
            });
            for (var i = 0; i < points; i++) run.LogMetric("loss", 1.0 / (i + 1));
            await run.LogMetricsAsync(Enumerable.Range(0, points).Select(i => ("acc", i / (double)points, (long)i)));
            await run.LogResultAsync("final", r);
        }
        return 0;
    }

    /// <summary>Logs metric batches and artifacts forever, printing a line after each committed write, until killed.</summary>
    private static async Task<int> CrashWorker(string home)
    {
        await using var project = await MLOpsProject.Configure("crash").UseHome(home).CaptureGit(false).OpenAsync();
        var run = await project.Runs.StartAsync("victim");
        Console.WriteLine($"run {run.Id}");
        var step = 0L;
        var payload = new byte[256 * 1024];
        for (var batch = 0; ; batch++)
        {
            await run.LogMetricsAsync(Enumerable.Range(0, 100).Select(_ => ("m", (double)step, step++)));
            Console.WriteLine($"metrics {step}");
            payload[batch % payload.Length]++;
            var a = await run.LogArtifactAsync("blob", payload, "blob.bin");
            Console.WriteLine($"artifact {a.Version}");
        }
    }
}
