namespace MLOps.Monitoring.Drift;

/// <summary>Counting values into reference bins: [0] below the first edge, [1..bins] the inner bins (numpy's
/// half-open [e_i, e_i+1), the last one closed), [bins + 1] above the last edge. NaN is missing.</summary>
internal static class HistogramBinning
{
    /// <summary>Adds the values' bin counts to <paramref name="counts"/> (length edges + 1) and returns the missing count.</summary>
    public static long Count(ReadOnlySpan<double> values, ReadOnlySpan<double> edges, Span<long> counts)
    {
        int bins = edges.Length - 1;
        double first = edges[0], last = edges[bins];
        double scale = bins / (last - first);
        long missing = 0;
        ref long below = ref counts[0];
        ref long above = ref counts[bins + 1];
        Span<long> inner = counts.Slice(1, bins);
        foreach (double v in values)
        {
            if (v >= first && v <= last)
            {
                // The scaled guess is at most one bin off; the edge comparisons make the result numpy's exactly.
                int i = (int)((v - first) * scale);
                if (i >= bins) i = bins - 1;
                if (v < edges[i]) i--;
                else if (i != bins - 1 && v >= edges[i + 1]) i++;
                inner[i]++;
            }
            else if (v < first) below++;
            else if (v > last) above++;
            else missing++;
        }
        return missing;
    }
}
