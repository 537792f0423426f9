using System.Buffers;
using Apache.Arrow;

namespace MLOps.Monitoring.Drift;

/// <summary>
/// Per-feature drift metrics of a current window against a reference, exact to scipy/numpy (see docs/monitoring.md, "Drift
/// metrics"): the histogram distances on the reference bins (TVD, Hellinger, symmetric KL, PSI, Jensen-Shannon), on request the
/// two-sample Kolmogorov-Smirnov test and the Wasserstein distance against the reference sample, and chi-square for categories.
/// </summary>
public static class DriftMetrics
{
    /// <summary>Compares a window of a numeric feature with its reference.</summary>
    /// <param name="reference">The feature's reference.</param>
    /// <param name="current">The current values; NaN is missing.</param>
    /// <param name="sampleTests">Also run Kolmogorov-Smirnov and Wasserstein against the reference sample (sorts a copy of the window);
    /// ignored for a reference without a sample (<see cref="NumericReference.FromHistogram"/>), whose sample results stay null.</param>
    /// <returns>The metrics.</returns>
    public static NumericDriftResult Compare(NumericReference reference, ReadOnlySpan<double> current, bool sampleTests = false)
    {
        Throw.IfNull(reference);
        var counts = new long[reference.Bins + 2];
        long missing = HistogramBinning.Count(current, reference.Edges, counts);
        long count = current.Length - missing;
        int length = counts.Length;
        double[] rented = ArrayPool<double>.Shared.Rent(2 * length);
        try
        {
            Span<double> p = rented.AsSpan(0, length), q = rented.AsSpan(length, length);
            Normalize(reference.Counts, reference.Count, p);
            Normalize(counts, count, q);
            var result = new NumericDriftResult
            {
                Feature = reference.Feature,
                Count = count,
                MissingCount = missing,
                Counts = counts,
                TotalVariation = count == 0 ? double.NaN : DistributionDistance.TotalVariation(p, q),
                Hellinger = count == 0 ? double.NaN : DistributionDistance.Hellinger(p, q),
                SymmetricKullbackLeibler = count == 0 ? double.NaN : DistributionDistance.SymmetricKullbackLeibler(p, q),
                PopulationStability = count == 0 ? double.NaN : DistributionDistance.PopulationStability(p, q),
                JensenShannon = count == 0 ? double.NaN : DistributionDistance.JensenShannon(p, q),
            };
            return sampleTests && reference.SampleSize > 0 ? WithSampleTests(result, reference, current, count) : result;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(rented);
        }
    }

    /// <summary>Compares a window of a numeric feature, an Arrow column (double, float or integer; nulls are missing), with its reference.</summary>
    /// <param name="reference">The feature's reference.</param>
    /// <param name="current">The current column.</param>
    /// <param name="sampleTests">Also run Kolmogorov-Smirnov and Wasserstein against the reference sample.</param>
    /// <returns>The metrics.</returns>
    /// <exception cref="ValidationException">The column is not numeric.</exception>
    public static NumericDriftResult Compare(NumericReference reference, IArrowArray current, bool sampleTests = false)
    {
        Throw.IfNull(reference);
        Throw.IfNull(current);
        using var column = ArrowNumbers.Read(reference.Feature, current);
        return Compare(reference, column.Span, sampleTests);
    }

    /// <summary>Compares a window of a categorical feature with its reference; a category the reference never saw is a bin of its own.</summary>
    /// <param name="reference">The feature's reference.</param>
    /// <param name="current">The current values; null is missing.</param>
    /// <returns>The metrics.</returns>
    public static CategoricalDriftResult Compare(CategoricalReference reference, ReadOnlySpan<string?> current)
    {
        Throw.IfNull(reference);
        var currentCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        long missing = CategoricalReference.Tally(current, currentCounts);
        bool pooled = !reference.IsComplete;
        var categories = reference.Counts.Keys.Concat(pooled ? [] : currentCounts.Keys.Where(c => !reference.Counts.ContainsKey(c)))
            .Order(StringComparer.Ordinal).ToArray();
        int columns = categories.Length + (pooled ? 1 : 0);
        var r = new long[columns];
        var c = new long[columns];
        long count = 0, unseen = 0;
        for (int i = 0; i < categories.Length; i++)
        {
            r[i] = reference.Counts.GetValueOrDefault(categories[i]);
            c[i] = currentCounts.GetValueOrDefault(categories[i]);
            count += c[i];
            if (r[i] == 0 && !pooled) unseen += c[i];
        }
        if (pooled)
        {
            // a reference from a profile's top values: the unlisted categories of both sides are one "other" bin
            r[^1] = reference.OtherCount;
            foreach (var (category, n) in currentCounts)
                if (!reference.Counts.ContainsKey(category)) c[^1] += n;
            count += c[^1];
        }
        var p = new double[columns];
        var q = new double[columns];
        Normalize(r, reference.Count, p);
        Normalize(c, count, q);
        return new CategoricalDriftResult
        {
            Feature = reference.Feature,
            Count = count,
            MissingCount = missing,
            UnseenCount = unseen,
            Counts = currentCounts,
            TotalVariation = count == 0 ? double.NaN : DistributionDistance.TotalVariation(p, q),
            Hellinger = count == 0 ? double.NaN : DistributionDistance.Hellinger(p, q),
            SymmetricKullbackLeibler = count == 0 ? double.NaN : DistributionDistance.SymmetricKullbackLeibler(p, q),
            PopulationStability = count == 0 ? double.NaN : DistributionDistance.PopulationStability(p, q),
            JensenShannon = count == 0 ? double.NaN : DistributionDistance.JensenShannon(p, q),
            ChiSquare = ChiSquare.Test(r, c),
        };
    }

    /// <summary>MLRun's general drift over features: the mean of the features' mean TVD and mean Hellinger distance (features whose
    /// window is empty are skipped; NaN when none is left).</summary>
    /// <param name="results">The per-feature results.</param>
    /// <returns>The general drift in [0, 1].</returns>
    public static double GeneralDrift(IEnumerable<NumericDriftResult> results)
    {
        Throw.IfNull(results);
        double tvd = 0, hellinger = 0;
        int n = 0;
        foreach (var r in results)
        {
            if (r.Count == 0) continue;
            tvd += r.TotalVariation;
            hellinger += r.Hellinger;
            n++;
        }
        return n == 0 ? double.NaN : (tvd / n + hellinger / n) / 2;
    }

    /// <summary>The two-sample Kolmogorov-Smirnov test as scipy's <c>ks_2samp(reference, current)</c> (two-sided, method 'auto'); NaN
    /// values are dropped first; an empty sample gives NaN.</summary>
    /// <param name="reference">The first sample, in any order.</param>
    /// <param name="current">The second sample, in any order.</param>
    /// <returns>The statistic and p-value.</returns>
    public static KolmogorovSmirnovResult KolmogorovSmirnov(ReadOnlySpan<double> reference, ReadOnlySpan<double> current)
    {
        using var samples = new SortedPair(reference, current);
        return Drift.KolmogorovSmirnov.TestSorted(samples.First, samples.Second);
    }

    /// <summary>The first Wasserstein distance as scipy's <c>wasserstein_distance(u, v)</c>; NaN values are dropped first; an empty sample gives NaN.</summary>
    /// <param name="u">The first sample, in any order.</param>
    /// <param name="v">The second sample, in any order.</param>
    /// <returns>The distance.</returns>
    public static double Wasserstein(ReadOnlySpan<double> u, ReadOnlySpan<double> v)
    {
        using var samples = new SortedPair(u, v);
        return Drift.Wasserstein.DistanceSorted(samples.First, samples.Second);
    }

    private static NumericDriftResult WithSampleTests(NumericDriftResult result, NumericReference reference, ReadOnlySpan<double> current, long count)
    {
        double[] sorted = SortedCopy(current, out int n);
        try
        {
            var window = sorted.AsSpan(0, n);
            double distance = Drift.Wasserstein.DistanceSorted(reference.Sample, window);
            double std = reference.StandardDeviation;
            double normalized = std > 0 ? distance / std : distance == 0 ? 0 : double.IsNaN(distance) ? double.NaN : double.PositiveInfinity;
            return result with
            {
                KolmogorovSmirnov = count == 0 ? new KolmogorovSmirnovResult(double.NaN, double.NaN, false) : Drift.KolmogorovSmirnov.TestSorted(reference.Sample, window),
                MannWhitney = Drift.MannWhitney.TestSorted(reference.Sample, window),
                Wasserstein = distance,
                WassersteinNormalized = normalized,
                ReferenceSampleSize = reference.SampleSize,
            };
        }
        finally
        {
            ArrayPool<double>.Shared.Return(sorted);
        }
    }

    /// <summary>Two samples without their NaNs, sorted, in pooled buffers returned on dispose.</summary>
    private readonly ref struct SortedPair
    {
        private readonly double[] _first, _second;
        private readonly int _firstCount, _secondCount;

        public SortedPair(ReadOnlySpan<double> first, ReadOnlySpan<double> second)
        {
            _first = SortedCopy(first, out _firstCount);
            _second = SortedCopy(second, out _secondCount);
        }

        public ReadOnlySpan<double> First => _first.AsSpan(0, _firstCount);

        public ReadOnlySpan<double> Second => _second.AsSpan(0, _secondCount);

        public void Dispose()
        {
            ArrayPool<double>.Shared.Return(_first);
            ArrayPool<double>.Shared.Return(_second);
        }
    }

    private static double[] SortedCopy(ReadOnlySpan<double> values, out int n)
    {
        double[] buffer = ArrayPool<double>.Shared.Rent(Math.Max(values.Length, 1));
        n = 0;
        foreach (double v in values)
        {
            if (!double.IsNaN(v)) buffer[n++] = v;
        }
        System.Array.Sort(buffer, 0, n);
        return buffer;
    }

    private static void Normalize(ReadOnlySpan<long> counts, long total, Span<double> distribution)
    {
        for (int i = 0; i < counts.Length; i++) distribution[i] = total == 0 ? 0 : (double)counts[i] / total;
    }
}
