using Apache.Arrow;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MLOps.Monitoring.Analysis;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Tests.Capture;

namespace MLOps.Monitoring.Tests.Analysis;

[Parallelizable(ParallelScope.All)]
public sealed class AnalysisScheduleTests
{
    [Test]
    public async Task StartAnalysisAsync_TimeAdvances_EachClosedWindowAnalysedExactlyOnce()
    {
        await using var f = await AnalysisFixture.StartAsync(new MonitoringOptions { AnalysisInterval = TimeSpan.FromMinutes(5) });
        var rows = new RowCountApplication();
        f.Monitoring.Applications.Add(rows);
        f.Monitoring.Applications.Add(new ThrowingApplication());
        await f.SendAsync(1, [1, 11], nowMinutes: 21);

        await using var schedule = await f.Monitoring.StartAnalysisAsync(); // passes at 08:21, then 08:26, 08:31, 08:36
        await schedule.WaitForPassAsync(1);
        Assert.That(schedule.LastPass.Select(a => a.Start), Is.EqualTo(new[] { AnalysisFixture.At(0), AnalysisFixture.At(10) }));

        await f.SendAsync(1, [22, 25], nowMinutes: 26);
        await schedule.WaitForPassAsync(2);
        Assert.That(schedule.LastPass, Is.Empty, "08:20 is not closed at 08:26");

        f.Served.Time.SetUtcNow(AnalysisFixture.At(31));
        await schedule.WaitForPassAsync(3);
        Assert.That(schedule.LastPass.Select(a => (a.Start, a.RowCount)), Is.EqualTo(new[] { (AnalysisFixture.At(20), 2L) }));

        f.Served.Time.SetUtcNow(AnalysisFixture.At(36));
        await schedule.WaitForPassAsync(4);
        Assert.That(schedule.LastPass, Is.Empty);
        Assert.That(rows.Seen.Select(s => s.Start), Is.EqualTo(new[] { AnalysisFixture.At(0), AnalysisFixture.At(10), AnalysisFixture.At(20) }));
        Assert.That((await f.Monitoring.GetResultsAsync(f.Endpoint.Id, "throws")).Select(r => r.Status), Is.EqualTo(Enumerable.Repeat(ResultStatus.Error, 3)));
        Assert.That(schedule.CompletedPasses, Is.EqualTo(4));
    }

    [Test]
    public async Task StartAnalysisAsync_OneEndpointFails_OthersAnalysedAndItIsRetriedOnTheNextPass()
    {
        await using var f = await AnalysisFixture.StartAsync();
        var rows = new RowCountApplication();
        f.Monitoring.Applications.Add(rows);
        await f.SendAsync(1, [1], nowMinutes: 5);
        var other = await f.Monitoring.RegisterEndpointAsync("manual");
        await f.Monitoring.RecordResultsAsync("manual", null,
            new RecordBatch.Builder().Append("x", false, c => c.Double(a => a.AppendRange([1.0, 2.0]))).Build(),
            new RecordBatch.Builder().Append("y", false, c => c.Double(a => a.AppendRange([3.0, 4.0]))).Build());
        var corrupt = Path.Combine(f.Monitoring.CaptureRoot, f.Endpoint.Id, "2026-03-01", "08", "20260301T080000Z-corrupt.parquet");
        await File.WriteAllTextAsync(corrupt, "not parquet");
        f.Served.Time.SetUtcNow(AnalysisFixture.At(11));

        await using var schedule = await f.Monitoring.StartAnalysisAsync();
        await schedule.WaitForPassAsync(1);

        Assert.That(schedule.LastPass.Select(a => a.EndpointId), Is.EqualTo(new[] { other.Id }));
        Assert.That(f.Served.Log.Entries.Count(e => e.EventId.Id == 3203 && e.Category == "MLOps.Monitoring" && e.Message.Contains(f.Endpoint.Id)), Is.EqualTo(1));
        Assert.That((await f.Monitoring.GetEndpointAsync(f.Endpoint.Id)).AnalyzedUntil, Is.Null);

        File.Delete(corrupt);
        f.Served.Time.Advance(TimeSpan.FromMinutes(10));
        await schedule.WaitForPassAsync(2);
        Assert.That(schedule.LastPass.Select(a => (a.EndpointId, a.Start)), Is.EqualTo(new[] { (f.Endpoint.Id, AnalysisFixture.At(0)) }));
    }

    [Test]
    public async Task DisposeAsync_Schedule_StopsPassesAndCancelsWaiters()
    {
        await using var f = await AnalysisFixture.StartAsync();
        var schedule = await f.Monitoring.StartAnalysisAsync();
        await schedule.WaitForPassAsync(1);
        var never = schedule.WaitForPassAsync(2);

        await schedule.DisposeAsync();
        f.Served.Time.Advance(TimeSpan.FromHours(1));

        Assert.That(schedule.CompletedPasses, Is.EqualTo(1));
        Assert.That(async () => await never, Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task AddMonitoring_HostWithApplication_ScheduleAnalysesAndResumesAfterRestart()
    {
        using var folder = new TempFolder();
        var name = "host" + Guid.NewGuid().ToString("N")[..8];
        string endpointId;
        await using (var f = await AnalysisFixture.StartAsync(name: name, folder: folder))
        {
            await f.SendAsync(2, [1, 11], nowMinutes: 21);
            endpointId = f.Endpoint.Id;
        }
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(AnalysisFixture.At(21));
        for (int run = 0; run < 2; run++)
        {
            var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
            builder.Services.AddSingleton<TimeProvider>(time);
            builder.Services.AddMLOps(name, b => b.UseHome(folder.Path).CaptureGit(false))
                .AddMonitoring(new MonitoringOptions { AnalysisInterval = TimeSpan.FromMinutes(10) })
                .AddMonitoringApplication<CountingApplication>([endpointId]);
            using var host = builder.Build();
            await host.StartAsync();
            var catalog = host.Services.GetRequiredService<MonitoringCatalog>();
            var counting = host.Services.GetRequiredService<CountingApplication>();
            Assert.That(catalog.Applications.Names, Is.EqualTo(new[] { "operations", "drift", "counting" }));
            var service = host.Services.GetServices<IHostedService>().OfType<MonitoringAnalysisService>().Single();
            await (await service.Schedule).WaitForPassAsync(1);
            await host.StopAsync();
            Assert.That((await catalog.GetEndpointAsync(endpointId)).AnalyzedUntil, Is.EqualTo(AnalysisFixture.At(20)));
            Assert.That(counting.Count, Is.EqualTo(run == 0 ? 2 : 0));
        }
        await using var project = await MLOpsProject.Configure(name).UseHome(folder.Path).CaptureGit(false).OpenAsync();
        Assert.That((await project.Monitoring.GetResultsAsync(endpointId, "counting")).Select(r => r.WindowStart), Is.EqualTo(new[] { AnalysisFixture.At(0), AnalysisFixture.At(10) }));
    }

    [Test]
    public void AddMonitoring_ScheduledAnalysisOff_RegistersNoAnalysisService()
    {
        var on = new ServiceCollection();
        on.AddMLOps("a").AddMonitoring().AddMonitoringCapture();
        var off = new ServiceCollection();
        off.AddMLOps("a").AddMonitoring(new MonitoringOptions { ScheduledAnalysis = false }).AddMonitoringCapture().AddMonitoringApplication<CountingApplication>();

        Assert.That(HostedServices(on).OfType<MonitoringAnalysisService>().Count(), Is.EqualTo(1), "AddMonitoringCapture does not add a second one");
        Assert.That(HostedServices(off).OfType<MonitoringAnalysisService>(), Is.Empty);
    }

    private static IEnumerable<IHostedService> HostedServices(ServiceCollection services)
        => services.BuildServiceProvider().GetServices<IHostedService>();

    /// <summary>An application created by the container.</summary>
    public sealed class CountingApplication : IMonitoringApplication
    {
        private int _count;

        public string Name => "counting";

        public int Count => Volatile.Read(ref _count);

        public Task<ApplicationOutput> AnalyzeAsync(MonitoringWindow window, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _count);
            return Task.FromResult(new ApplicationOutput { Results = [new MonitoringResult("count", Count, ResultKind.Custom, ResultStatus.None)] });
        }
    }
}
