using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Drift;

namespace MLOps.Monitoring.Tests.Drift;

/// <summary>The example of docs/monitoring.md, "Drift status", compiled and run.</summary>
public class DriftStatusDocsExampleTests
{
    [Test]
    public void MonitoringGuide_DriftStatusExample_Runs()
    {
        var output = new StringWriter();

        var random = new Random(1);
        double[] trainingDistances = [.. Enumerable.Range(0, 5_000).Select(_ => 200 + 1_800 * random.NextDouble())];
        double[] liveDistances = [.. Enumerable.Range(0, 300).Select(_ => 1.5 * (200 + 1_800 * random.NextDouble()))];

        var reference = NumericReference.Create("distance", trainingDistances);
        var analysis = new DriftAnalysis(new DriftOptions
        {
            MinimumCount = 100,
            Detectors = new Dictionary<string, DriftDetector> { ["hour"] = DriftDetector.MLRun(0.5, 0.7) },
            DetectedShare = 0,
        });

        FeatureDrift distance = analysis.Analyze(reference, liveDistances);
        output.WriteLine($"{distance.Feature}: {distance.Status} by {distance.Statistic} = {distance.Value:G3}");

        WindowDrift report = analysis.Summarize([distance]);
        output.WriteLine($"endpoint: {report.Status}, {report.DetectedShare:P0} of the features, MLRun general drift {report.GeneralDrift:F2}");

        var drift = new DriftApplication(new DriftOptions { OutputReferences = new Dictionary<string, string> { ["PredictedLabel"] = "delayed" } });

        Assert.That(distance.Status, Is.EqualTo(ResultStatus.Detected));
        Assert.That(distance.Statistic, Is.AnyOf("ks_pvalue", "mw_pvalue"));
        Assert.That(report.Status, Is.EqualTo(ResultStatus.Detected));
        Assert.That(drift.Name, Is.EqualTo("drift"));
        Assert.That(output.ToString(), Does.StartWith("distance: Detected by "));
        TestContext.Out.Write(output.ToString());
    }
}
