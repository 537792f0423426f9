using System.Diagnostics;
using Microsoft.Data.Sqlite;
using MLOps.Runs;

namespace MLOps.Core.Tests;

/// <summary>Several processes on one store, and a process killed mid-write. Worker processes are this test assembly
/// run with <c>worker ...</c> arguments (see <see cref="Program"/>).</summary>
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class CrashAndProcessTests
{
    private readonly TempFolder _folder = new();

    [TearDown]
    public void TearDown() => _folder.Dispose();

    private static Process StartWorker(params string[] args)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var psi = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(typeof(Program).Assembly.Location);
        psi.ArgumentList.Add("worker");
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    [Test]
    public async Task FourProcessesAndFourThreads_WritingOneStore_NothingLostNoLockError()
    {
        const int runsPerWriter = 3, points = 400;
        // Create the store first so the workers race on the data, and separately on migrations below.
        var workers = Enumerable.Range(0, 4).Select(i => StartWorker("metrics", _folder.Path, runsPerWriter.ToString(), points.ToString(), "p" + i)).ToList();
        await using (var project = await MLOpsProject.Configure("shared").UseHome(_folder.Path).CaptureGit(false).ConfigureMetrics(m => m.FlushSize = 50).OpenAsync())
        {
            await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(async () =>
            {
                for (var r = 0; r < runsPerWriter; r++)
                {
                    await using var run = await project.Runs.StartAsync("worker", new RunOptions { Parameters = new Dictionary<string, object> { ["worker"] = "t" + t, ["index"] = r } });
                    for (var i = 0; i < points; i++) run.LogMetric("loss", 1.0 / (i + 1));
                    await run.LogMetricsAsync(Enumerable.Range(0, points).Select(i => ("acc", i / (double)points, (long)i)));
                    await run.LogResultAsync("final", r);
                }
            })));
            foreach (var w in workers)
            {
                var stderr = w.StandardError.ReadToEndAsync();
                await w.WaitForExitAsync();
                Assert.That(w.ExitCode, Is.EqualTo(0), await stderr);
                w.Dispose();
            }
            var runs = new List<RunRecord>();
            await foreach (var r in project.Runs.SearchAllAsync()) runs.Add(r);
            Assert.That(runs, Has.Count.EqualTo(8 * runsPerWriter));
            Assert.That(runs.All(r => r.State == RunState.Completed), Is.True);
            Assert.That(runs.Select(r => r.Parameters["worker"]).Distinct().Count(), Is.EqualTo(8));
            foreach (var r in runs)
            {
                Assert.That(await project.Runs.GetMetricHistoryAsync(r.Id, "loss"), Has.Count.EqualTo(points));
                Assert.That(await project.Runs.GetMetricHistoryAsync(r.Id, "acc"), Has.Count.EqualTo(points));
            }
        }
    }

    [Test]
    public async Task SeveralProcessesOpeningANewStore_MigrateOnce()
    {
        var workers = Enumerable.Range(0, 4).Select(i => StartWorker("metrics", _folder.Path, "1", "5", "m" + i)).ToList();
        foreach (var w in workers)
        {
            var stderr = w.StandardError.ReadToEndAsync();
            await w.WaitForExitAsync();
            Assert.That(w.ExitCode, Is.EqualTo(0), await stderr);
            w.Dispose();
        }
        await using var c = new SqliteConnection($"Data Source={Path.Combine(_folder.Path, "mlops.db")}");
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM schema_migrations;";
        Assert.That(Convert.ToInt32(await cmd.ExecuteScalarAsync()), Is.EqualTo(MLOps.Storage.Sqlite.SqliteMetadataStore.SchemaVersion));
    }

    [Test]
    public async Task KilledMidLogging_StoreAndArtifactsStayReadableAndConsistent()
    {
        using var worker = StartWorker("crash", _folder.Path);
        var first = await worker.StandardOutput.ReadLineAsync();
        Assert.That(first, Does.StartWith("run "), await ReadErrorIfExited(worker));
        var runId = first![4..];
        long confirmedMetrics = 0;
        var confirmedArtifacts = 0;
        // Let it commit a few batches and artifacts, then kill it without warning mid-stream.
        while (confirmedArtifacts < 5)
        {
            var line = await worker.StandardOutput.ReadLineAsync();
            Assert.That(line, Is.Not.Null, await ReadErrorIfExited(worker));
            if (line!.StartsWith("metrics ", StringComparison.Ordinal)) confirmedMetrics = long.Parse(line[8..]);
            if (line.StartsWith("artifact ", StringComparison.Ordinal)) confirmedArtifacts = int.Parse(line[9..]);
        }
        worker.Kill(entireProcessTree: true);
        await worker.WaitForExitAsync();

        await using (var c = new SqliteConnection($"Data Source={Path.Combine(_folder.Path, "mlops.db")}"))
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA integrity_check;";
            Assert.That(await cmd.ExecuteScalarAsync(), Is.EqualTo("ok"));
        }

        await using var project = await MLOpsProject.Configure("crash").UseHome(_folder.Path).CaptureGit(false).OpenAsync();
        var run = await project.Runs.GetAsync(runId);
        Assert.That(run.State, Is.EqualTo(RunState.Running), "a killed process cannot mark its run; it stays running");
        var history = await project.Runs.GetMetricHistoryAsync(runId, "m");
        Assert.That(history.Count, Is.GreaterThanOrEqualTo(confirmedMetrics));
        Assert.That(history.Count % 100, Is.EqualTo(0), "each batch is one transaction: all or nothing");
        Assert.That(history.Select(p => p.Step), Is.EqualTo(Enumerable.Range(0, history.Count).Select(i => (long)i)));
        var versions = await project.Artifacts.ListVersionsAsync("blob");
        Assert.That(versions.Count, Is.GreaterThanOrEqualTo(confirmedArtifacts));
        foreach (var v in versions)
            Assert.That(await project.Artifacts.VerifyAsync(v.Uri), Is.True, $"version {v.Version} content is intact");
        // The store stays writable after the crash, and the orphaned run can be closed.
        await using var next = await project.Runs.StartAsync("after-crash");
        next.LogMetric("m", 1);
        var aborted = await project.Runs.AbortAsync(runId, "the writer process was killed");
        Assert.That((aborted.State, aborted.Error), Is.EqualTo((RunState.Aborted, "the writer process was killed")));
        Assert.ThrowsAsync<InvalidStateException>(() => project.Runs.AbortAsync(runId));
    }

    private static async Task<string> ReadErrorIfExited(Process p)
        => p.HasExited ? "worker exited: " + await p.StandardError.ReadToEndAsync() : "";
}
