namespace MLOps.Monitoring.Drift;

/// <summary>How a <see cref="NumericReference"/> is built from the reference (training) values of one numeric feature.</summary>
public sealed record NumericReferenceOptions
{
    /// <summary>The default number of equal-width inner bins (MLRun's 20).</summary>
    public const int DefaultBins = 20;

    /// <summary>The default size of the seeded reference sample kept for Kolmogorov-Smirnov and Wasserstein.</summary>
    public const int DefaultSampleSize = 10_000;

    /// <summary>Equal-width inner bins over the reference range [min, max] (at least 1). Two open edge bins are added.</summary>
    public int Bins { get; init; } = DefaultBins;

    /// <summary>The most reference values kept (a seeded reservoir sample) for Kolmogorov-Smirnov and Wasserstein (at least 1).
    /// A reference with at most this many values is kept whole.</summary>
    public int SampleSize { get; init; } = DefaultSampleSize;

    /// <summary>The seed of the reservoir sample: the same values and seed give the same sample.</summary>
    public int Seed { get; init; }
}
