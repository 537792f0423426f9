using BenchmarkDotNet.Attributes;
using MLOps.Monitoring.Drift;

namespace MLOps.Benchmarks;

/// <summary>
/// PERFORMANCE.md "drift": the histogram metrics (TVD, Hellinger, symmetric KL, PSI, Jensen-Shannon on the 20 reference bins
/// plus the open edge bins) of 50 numeric features x 1,000,000 current rows against their references, beside the baseline
/// "one pass over the same arrays" (the sum of each column). Target: &lt;= 200 ms.
/// </summary>
public class DriftBenchmarks
{
    private DriftData _data = null!;

    [GlobalSetup]
    public void Setup() => _data = new DriftData();

    /// <summary>The baseline: one pass over every current column (its sum).</summary>
    [Benchmark(Baseline = true)]
    public double OnePassSum()
    {
        double total = 0;
        foreach (var column in _data.Current)
        {
            double sum = 0;
            foreach (double v in column) sum += v;
            total += sum;
        }
        return total;
    }

    /// <summary>The histogram metrics of every feature, one feature after another on one thread.</summary>
    [Benchmark]
    public double HistogramMetrics()
    {
        double total = 0;
        for (int f = 0; f < DriftData.Features; f++)
            total += DriftMetrics.Compare(_data.References[f], _data.Current[f]).TotalVariation;
        return total;
    }

    /// <summary>The drift status with the default detectors (<see cref="DriftAnalysis"/>: at 1M rows PSI on the bins, no sort) and the
    /// histogram metrics of every feature, then the endpoint-level status.</summary>
    [Benchmark]
    public int DefaultDetectors()
    {
        var features = new FeatureDrift[DriftData.Features];
        for (int f = 0; f < DriftData.Features; f++)
            features[f] = Analysis.Analyze(_data.References[f], _data.Current[f]);
        return (int)Analysis.Summarize(features).Status;
    }

    private static readonly DriftAnalysis Analysis = new();
}

/// <summary>
/// PERFORMANCE.md "drift", on request: Kolmogorov-Smirnov and Wasserstein of 50 features x 1,000,000 current rows against each
/// reference's 10,000-value sample (the window is copied and sorted once per feature), with the histogram metrics; compare with
/// bench/MLOps.Benchmarks/drift_scipy_timing.py (scipy's ks_2samp and wasserstein_distance on the same sizes).
/// </summary>
[WarmupCount(1)]
[IterationCount(3)]
public class DriftSampleTestBenchmarks
{
    private DriftData _data = null!;

    [GlobalSetup]
    public void Setup() => _data = new DriftData();

    /// <summary>Histogram metrics, Kolmogorov-Smirnov and Wasserstein of every feature.</summary>
    [Benchmark]
    public double HistogramKsWasserstein()
    {
        double total = 0;
        for (int f = 0; f < DriftData.Features; f++)
        {
            var r = DriftMetrics.Compare(_data.References[f], _data.Current[f], sampleTests: true);
            total += r.KolmogorovSmirnov!.Value.PValue + r.Wasserstein!.Value;
        }
        return total;
    }
}
