namespace MLOps.Monitoring.Drift;

/// <summary>A two-sided Mann-Whitney U test of the reference sample against the current window, as scipy's
/// <c>mannwhitneyu(sample, window, alternative='two-sided', method='asymptotic')</c> (tie correction, continuity correction).</summary>
/// <param name="Statistic">U of the reference sample.</param>
/// <param name="Z">The standardized statistic (after the continuity correction; positive when the window tends to be smaller).</param>
/// <param name="PValue">The two-sided p-value of the normal approximation.</param>
public readonly record struct MannWhitneyResult(double Statistic, double Z, double PValue);

/// <summary>The Mann-Whitney U test on two sorted samples without NaN: one merge pass gives the rank sum (mid-ranks for ties) and
/// the tie correction.</summary>
internal static class MannWhitney
{
    public static MannWhitneyResult TestSorted(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        long n1 = a.Length, n2 = b.Length;
        if (n1 == 0 || n2 == 0) return new MannWhitneyResult(double.NaN, double.NaN, double.NaN);
        double rankSumA = 0, ties = 0;
        int i = 0, j = 0;
        long position = 0; // values ranked so far
        while (i < a.Length || j < b.Length)
        {
            double x = i < a.Length && (j >= b.Length || a[i] <= b[j]) ? a[i] : b[j];
            int fromA = 0, fromB = 0;
            while (i < a.Length && a[i] == x) { i++; fromA++; }
            while (j < b.Length && b[j] == x) { j++; fromB++; }
            double t = fromA + fromB;
            double midRank = position + (t + 1) / 2;
            rankSumA += fromA * midRank;
            ties += t * t * t - t;
            position += (long)t;
        }
        double u1 = rankSumA - n1 * (n1 + 1) / 2.0;
        double n = n1 + n2, mean = n1 * (double)n2 / 2;
        double variance = n1 * (double)n2 / 12 * ((n + 1) - ties / (n * (n - 1)));
        if (!(variance > 0)) return new MannWhitneyResult(u1, 0, 1);
        double u = Math.Max(u1, n1 * (double)n2 - u1);
        double z = (u - mean - 0.5) / Math.Sqrt(variance);
        double p = Math.Clamp(2 * 0.5 * IncompleteGamma.UpperRegularized(0.5, z * z / 2), 0, 1);
        if (z < 0) p = 1;
        return new MannWhitneyResult(u1, (u1 > mean ? 1 : -1) * Math.Max(z, 0), p);
    }
}
