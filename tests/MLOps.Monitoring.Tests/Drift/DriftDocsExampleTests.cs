using MLOps.Monitoring.Drift;

namespace MLOps.Monitoring.Tests.Drift;

/// <summary>The example of docs/monitoring.md, "Drift metrics", compiled and run.</summary>
public class DriftDocsExampleTests
{
    [Test]
    public void MonitoringGuide_DriftMetricsExample_Runs()
    {
        var output = new StringWriter();

        double[] trainingDelays = [-5, 0, 3, 12, 7, -2, 45, 8, 0, 15, 22, -8, 5, 1, 30];
        double[] liveDelays = [60, 75, 58, 90, double.NaN, 66, 71];

        var reference = NumericReference.Create("delay", trainingDelays, new NumericReferenceOptions { Bins = 20, SampleSize = 10_000, Seed = 1 });

        NumericDriftResult drift = DriftMetrics.Compare(reference, liveDelays, sampleTests: true);
        output.WriteLine($"TVD {drift.TotalVariation:F3}, Hellinger {drift.Hellinger:F3}, PSI {drift.PopulationStability:F2}, " +
            $"KS p {drift.KolmogorovSmirnov!.Value.PValue:G3} (sample of {drift.ReferenceSampleSize}), missing {drift.MissingCount}");

        var origins = CategoricalReference.Create("origin", ["ORD", "ORD", "ATL", "DFW", "ATL", "ORD"]);
        CategoricalDriftResult airports = DriftMetrics.Compare(origins, ["ORD", "ZZZ", "ATL", null]);
        output.WriteLine($"chi2 {airports.ChiSquare.Statistic:F2}, p {airports.ChiSquare.PValue:F3}, unseen {airports.UnseenCount}");

        double general = DriftMetrics.GeneralDrift([drift]);

        Assert.That(drift.MissingCount, Is.EqualTo(1));
        Assert.That(drift.Counts[^1], Is.EqualTo(6), "every live delay is above the training maximum: the open upper bin");
        Assert.That(drift.TotalVariation, Is.EqualTo(1.0));
        Assert.That(drift.ReferenceSampleSize, Is.EqualTo(15));
        Assert.That(airports.UnseenCount, Is.EqualTo(1));
        Assert.That(general, Is.EqualTo(1.0));
        Assert.That(output.ToString(), Does.Contain("unseen 1"));
    }
}
