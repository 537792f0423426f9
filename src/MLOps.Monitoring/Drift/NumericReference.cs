using System.Globalization;
using Apache.Arrow;

namespace MLOps.Monitoring.Drift;

/// <summary>
/// The reference (training) statistics of one numeric feature that current windows are compared with: a histogram of
/// <see cref="NumericReferenceOptions.Bins"/> equal-width inner bins over the reference range [min, max] (numpy's
/// <c>histogram(values, bins)</c> edges: the last inner bin is closed) plus two open edge bins for current values below
/// the minimum or above the maximum (values outside are counted there, never clipped into the first or last bin); the
/// count of missing values (NaN, or Arrow nulls), kept apart and excluded from every distribution; the population mean and
/// standard deviation of the finite values; and a seeded reservoir sample of the values for Kolmogorov-Smirnov and
/// Wasserstein. A constant feature (min = max) gets numpy's range [min - 0.5, max + 0.5].
/// </summary>
public sealed class NumericReference
{
    private readonly double[] _edges;
    private readonly long[] _counts;
    private readonly double[] _sample;

    private NumericReference(string feature, double[] edges, long[] counts, long count, long missingCount, double mean, double std, double[] sample)
    {
        Feature = feature;
        _edges = edges;
        _counts = counts;
        Count = count;
        MissingCount = missingCount;
        Mean = mean;
        StandardDeviation = std;
        _sample = sample;
    }

    /// <summary>The feature's name (used in results and error messages).</summary>
    public string Feature { get; }

    /// <summary>The inner bin edges, <see cref="NumericReferenceOptions.Bins"/> + 1 of them, from the reference minimum to its maximum.</summary>
    public ReadOnlySpan<double> Edges => _edges;

    /// <summary>Number of inner bins.</summary>
    public int Bins => _edges.Length - 1;

    /// <summary>The reference counts per bin, <see cref="Bins"/> + 2 of them: [0] below the minimum (always 0 for the reference),
    /// [1..Bins] the inner bins, [Bins + 1] above the maximum (0 unless the reference holds +infinity).</summary>
    public ReadOnlySpan<long> Counts => _counts;

    /// <summary>Reference values that are not missing (the histogram's total).</summary>
    public long Count { get; }

    /// <summary>Missing reference values (NaN or null), excluded from the histogram and the sample.</summary>
    public long MissingCount { get; }

    /// <summary>The population mean of the finite reference values.</summary>
    public double Mean { get; }

    /// <summary>The population standard deviation (numpy's <c>std</c>, ddof = 0) of the finite reference values.</summary>
    public double StandardDeviation { get; }

    /// <summary>The reference sample for Kolmogorov-Smirnov and Wasserstein, sorted ascending: every non-missing value when there are
    /// at most <see cref="NumericReferenceOptions.SampleSize"/>, else a seeded reservoir sample of that size.</summary>
    public ReadOnlySpan<double> Sample => _sample;

    /// <summary>The size of <see cref="Sample"/>, reported with the Kolmogorov-Smirnov and Wasserstein results; 0 for a reference built
    /// from a histogram only (<see cref="FromHistogram"/>), for which those tests are unavailable.</summary>
    public int SampleSize => _sample.Length;

    /// <summary>Builds the reference of one feature from its values.</summary>
    /// <param name="feature">The feature's name.</param>
    /// <param name="values">The reference values; NaN is missing.</param>
    /// <param name="options">Bins, sample size and seed; null for the defaults.</param>
    /// <returns>The reference.</returns>
    /// <exception cref="ValidationException">The options are invalid, or no reference value is finite.</exception>
    public static NumericReference Create(string feature, ReadOnlySpan<double> values, NumericReferenceOptions? options = null)
    {
        Throw.IfNullOrWhitespace(feature);
        options ??= new NumericReferenceOptions();
        DriftGuard.Options(options);
        int bins = options.Bins;

        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0;
        long finite = 0, missing = 0;
        foreach (double v in values)
        {
            if (double.IsNaN(v)) { missing++; continue; }
            if (double.IsInfinity(v)) continue;
            finite++;
            sum += v;
            if (v < min) min = v;
            if (v > max) max = v;
        }
        if (finite == 0)
            throw new ValidationException(string.Create(CultureInfo.InvariantCulture,
                $"Reference values of feature '{feature}' hold no finite number ({values.Length} values, {missing} missing): a numeric histogram needs a range. Pass the feature's training values, or monitor it as a category."));

        double mean = sum / finite, squares = 0;
        foreach (double v in values)
        {
            if (double.IsFinite(v)) { double d = v - mean; squares += d * d; }
        }
        double std = Math.Sqrt(squares / finite);

        double[] edges = EqualWidthEdges(min, max, bins);
        var counts = new long[bins + 2];
        HistogramBinning.Count(values, edges, counts);
        double[] sample = ReservoirSample(values, options.SampleSize, options.Seed);
        return new NumericReference(feature, edges, counts, values.Length - missing, missing, mean, std, sample);
    }

    /// <summary>Builds the reference of one feature from an Arrow column (double, float, 64/32/16/8-bit integer); nulls are missing.</summary>
    /// <param name="feature">The feature's name.</param>
    /// <param name="values">The reference column.</param>
    /// <param name="options">Bins, sample size and seed; null for the defaults.</param>
    /// <returns>The reference.</returns>
    /// <exception cref="ValidationException">The column is not numeric, the options are invalid, or no value is finite.</exception>
    public static NumericReference Create(string feature, IArrowArray values, NumericReferenceOptions? options = null)
    {
        Throw.IfNull(values);
        using var column = ArrowNumbers.Read(feature, values);
        return Create(feature, column.Span, options);
    }

    /// <summary>Builds the reference of one feature from a histogram only (for example a profile's
    /// <see cref="MLOps.Data.ColumnStatistics.Histogram"/>, numpy's edges: inner bins half-open, the last closed), without values:
    /// the reference has no sample (<see cref="SampleSize"/> 0), so Kolmogorov-Smirnov and Wasserstein are unavailable and
    /// only the histogram metrics are computed. Edges that are all equal (a constant feature) are widened to numpy's [v - 0.5, v + 0.5]
    /// with every value in the bin that holds v.</summary>
    /// <param name="feature">The feature's name.</param>
    /// <param name="edges">The inner bin edges, ascending, one more than <paramref name="counts"/>.</param>
    /// <param name="counts">The count of each inner bin.</param>
    /// <param name="missingCount">Missing reference values.</param>
    /// <param name="mean">The mean of the values (NaN when unknown).</param>
    /// <param name="standardDeviation">The population standard deviation of the values (NaN when unknown).</param>
    /// <returns>The reference.</returns>
    /// <exception cref="ValidationException">The edges are not finite and ascending, the counts do not match them, a count is
    /// negative, or the histogram is empty.</exception>
    public static NumericReference FromHistogram(string feature, IReadOnlyList<double> edges, IReadOnlyList<long> counts, long missingCount = 0,
        double mean = double.NaN, double standardDeviation = double.NaN)
    {
        Throw.IfNullOrWhitespace(feature);
        Throw.IfNull(edges);
        Throw.IfNull(counts);
        var problems = new List<string>();
        if (edges.Count < 2 || counts.Count != edges.Count - 1)
            problems.Add($"it has {edges.Count} edges and {counts.Count} counts; a histogram of k bins has k + 1 edges (k >= 1)");
        for (int i = 0; i < edges.Count; i++)
        {
            if (!double.IsFinite(edges[i]) || (i > 0 && edges[i] < edges[i - 1]))
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"edge {i} ({edges[i]}) is not finite or is below the previous edge"));
                break;
            }
        }
        long total = 0;
        foreach (long c in counts)
        {
            if (c < 0) problems.Add(string.Create(CultureInfo.InvariantCulture, $"a bin count is negative ({c})"));
            total += Math.Max(c, 0);
        }
        if (total == 0) problems.Add("its counts add up to 0, so it has no value to compare with");
        if (problems.Count > 0)
            throw new ValidationException($"The reference histogram of feature '{feature}' is not usable: {string.Join("; ", problems)}. " +
                "Pass a numeric histogram with at least one value (a dataset profile's ColumnStatistics.Histogram), or build the reference from the training values with NumericReference.Create.");

        int bins = counts.Count;
        double[] inner;
        var all = new long[bins + 2];
        if (edges[0] == edges[^1])
        {
            inner = EqualWidthEdges(edges[0], edges[0], bins);
            HistogramBinning.Count([edges[0]], inner, all);
            int at = all.AsSpan().IndexOf(1L);
            all[at] = total;
        }
        else
        {
            inner = [.. edges];
            for (int i = 0; i < bins; i++) all[i + 1] = counts[i];
        }
        return new NumericReference(feature, inner, all, total, Math.Max(missingCount, 0), mean, standardDeviation, []);
    }

    /// <summary>numpy's <c>linspace(min, max, bins + 1)</c> (after <c>histogram</c>'s widening of an empty range by 0.5 each side).</summary>
    internal static double[] EqualWidthEdges(double min, double max, int bins)
    {
        if (min == max) { min -= 0.5; max += 0.5; }
        var edges = new double[bins + 1];
        double delta = max - min, step = delta / bins;
        for (int i = 0; i < bins; i++)
            edges[i] = step == 0 ? i / (double)bins * delta + min : i * step + min;
        edges[bins] = max;
        return edges;
    }

    private static double[] ReservoirSample(ReadOnlySpan<double> values, int size, int seed)
    {
        var random = new Random(seed);
        var reservoir = new List<double>(Math.Min(size, values.Length));
        long seen = 0;
        foreach (double v in values)
        {
            if (double.IsNaN(v)) continue;
            seen++;
            if (reservoir.Count < size) { reservoir.Add(v); continue; }
            long j = random.NextInt64(seen);
            if (j < size) reservoir[(int)j] = v;
        }
        double[] sample = reservoir.ToArray();
        System.Array.Sort(sample);
        return sample;
    }
}
