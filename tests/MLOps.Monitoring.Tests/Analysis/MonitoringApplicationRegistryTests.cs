using Apache.Arrow;
using MLOps.Monitoring.Analysis;
using MLOps.Monitoring.Applications;

namespace MLOps.Monitoring.Tests.Analysis;

[Parallelizable(ParallelScope.All)]
public sealed class MonitoringApplicationRegistryTests
{
    [Test]
    public async Task Add_PerEndpoint_RunsOnlyForThatEndpointAndBuiltInsCanBeRemoved()
    {
        await using var f = await AnalysisFixture.StartAsync();
        var manual = await f.Monitoring.RegisterEndpointAsync("manual");
        var onlyManual = new RowCountApplication("only_manual");
        f.Monitoring.Applications.Add(onlyManual, ["manual"]);
        f.Monitoring.Applications.Add(new RowCountApplication("by_name"), ["delay:1"]);
        Assert.That(f.Monitoring.Applications.Remove("operations"), Is.True);
        Assert.That(f.Monitoring.Applications.Remove("drift"), Is.True);
        await f.SendAsync(1, [1], nowMinutes: 2);
        await f.Monitoring.RecordResultsAsync("manual", null,
            new RecordBatch.Builder().Append("x", false, c => c.Double(a => a.AppendRange([1.0]))).Build(),
            new RecordBatch.Builder().Append("y", false, c => c.Double(a => a.AppendRange([2.0]))).Build());
        f.Served.Time.SetUtcNow(AnalysisFixture.At(11));

        await f.Monitoring.AnalyzeAsync();

        var results = await f.Monitoring.GetResultsAsync();
        Assert.That(results.Select(r => (r.EndpointId == manual.Id ? "manual" : "delay", r.Application)).Order(), Is.EqualTo(new[] { ("delay", "by_name"), ("manual", "only_manual") }));
        Assert.That(f.Monitoring.Applications.Names, Is.EqualTo(new[] { "only_manual", "by_name" }));
        Assert.That(f.Monitoring.Applications.For(manual).Select(a => a.Name), Is.EqualTo(new[] { "only_manual" }));
    }

    [Test]
    public async Task Add_DuplicateName_ThrowsValidationUntilRemoved()
    {
        await using var f = await AnalysisFixture.StartAsync();

        var ex = Assert.Throws<ValidationException>(() => f.Monitoring.Applications.Add(new RowCountApplication("operations")));
        Assert.That(ex!.Message, Does.Contain("'operations' is already registered").And.Contain("Remove(\"operations\")"));
        f.Monitoring.Applications.Remove("operations");
        f.Monitoring.Applications.Add(new RowCountApplication("operations"));
        Assert.That(f.Monitoring.Applications.Contains("operations"), Is.True);
    }

    [TestCase("Drift")]
    [TestCase("")]
    [TestCase("a/b")]
    [TestCase("..")]
    [TestCase("_x")]
    public async Task Add_InvalidName_ThrowsValidationNamingIt(string name)
    {
        await using var f = await AnalysisFixture.StartAsync();

        var ex = Assert.Throws<ValidationException>(() => f.Monitoring.Applications.Add(new RowCountApplication(name)));
        Assert.That(ex!.Message, Does.Contain($"'{name}'").And.Contain("lower-case"));
    }

    [Test]
    public async Task Add_BlankEndpointOrNonPositiveTimeout_ThrowsValidation()
    {
        await using var f = await AnalysisFixture.StartAsync();

        Assert.Throws<ValidationException>(() => f.Monitoring.Applications.Add(new RowCountApplication(), [" "]));
        Assert.Throws<ValidationException>(() => f.Monitoring.Applications.Add(new RowCountApplication(), timeout: TimeSpan.Zero));
        Assert.That(f.Monitoring.Applications.Names, Is.EqualTo(new[] { "operations", "drift" }));
    }

    [Test]
    public void Validate_EveryProblem_ListedAtOnce()
    {
        var options = new MonitoringOptions
        {
            AnalysisWindow = TimeSpan.FromMinutes(7),
            AnalysisGracePeriod = TimeSpan.FromSeconds(-1),
            AnalysisInterval = TimeSpan.Zero,
            ApplicationTimeout = TimeSpan.Zero,
            AnalysisOwner = " ",
            Operations = new OperationsThresholds { MaxErrorRate = 2, MaxLatencyP99Ms = double.NaN },
        };

        var ex = Assert.Throws<ValidationException>(options.Validate);

        Assert.That(ex!.Errors, Has.Count.EqualTo(7));
        Assert.That(ex.Message, Does.Contain("AnalysisWindow is 00:07:00").And.Contain("MaxErrorRate is 2").And.Contain("AnalysisOwner"));
        Assert.DoesNotThrow(new MonitoringOptions { AnalysisWindow = TimeSpan.FromHours(1) }.Validate);
    }

    [Test]
    public async Task UseMonitoring_InvalidOptions_ThrowsValidation()
    {
        await using var served = await Capture.ServedFlights.StartAsync();

        Assert.Throws<ValidationException>(() => served.Project.UseMonitoring(new MonitoringOptions { AnalysisWindow = TimeSpan.FromSeconds(30) }));
    }

    [Test]
    public async Task UseMonitoring_InvalidDriftOptions_ListedWithTheOtherProblems()
    {
        await using var served = await Capture.ServedFlights.StartAsync();

        var ex = Assert.Throws<ValidationException>(() => served.Project.UseMonitoring(new MonitoringOptions
        {
            AnalysisInterval = TimeSpan.Zero,
            Drift = new MLOps.Monitoring.Drift.DriftOptions { DetectedShare = 2 },
        }));
        Assert.That(ex!.Errors, Has.Count.EqualTo(2));
        Assert.That(ex.Errors, Has.Some.StartsWith("AnalysisInterval"));
        Assert.That(ex.Errors, Has.Some.StartsWith("Drift: ").And.Some.Contains("DetectedShare is 2"));
    }

    [Test]
    public async Task Applications_NewProject_HasTheBuiltInOperationsAndDriftWithTheOptions()
    {
        await using var served = await Capture.ServedFlights.StartAsync();
        var options = new MLOps.Monitoring.Drift.DriftOptions { OutputReferences = new Dictionary<string, string> { ["PredictedLabel"] = "delayed" } };
        served.Project.UseMonitoring(new MonitoringOptions { Drift = options });

        Assert.That(served.Project.Monitoring.Applications.Names, Is.EqualTo(new[] { "operations", "drift" }));
        var drift = served.Project.Monitoring.Applications.For(await served.Project.Monitoring.RegisterEndpointAsync("delay", "1")).OfType<MLOps.Monitoring.Drift.DriftApplication>().Single();
        Assert.That(drift.Options, Is.SameAs(options));
    }
}
