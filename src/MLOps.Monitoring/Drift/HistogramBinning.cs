using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MLOps.Monitoring.Drift;

/// <summary>Counting values into reference bins: [0] below the first edge, [1..bins] the inner bins (numpy's
/// half-open [e_i, e_i+1), the last one closed), [bins + 1] above the last edge. NaN is missing.</summary>
/// <remarks>The hot path of drift: one pass, four interleaved sub-histograms (so runs of equal values, common in integer
/// features, do not serialize on one counter), no bounds checks; the scaled bin guess is corrected against the edges, so the
/// result is numpy's exactly.</remarks>
internal static class HistogramBinning
{
    private const int Lanes = 4;

    /// <summary>Adds the values' bin counts to <paramref name="counts"/> (length edges + 1) and returns the missing count.</summary>
    public static long Count(ReadOnlySpan<double> values, ReadOnlySpan<double> edges, Span<long> counts)
    {
        int bins = edges.Length - 1;
        int slots = bins + 3; // below, inner bins, above, missing
        long[] rented = ArrayPool<long>.Shared.Rent(slots * Lanes);
        try
        {
            Span<long> lanes = rented.AsSpan(0, slots * Lanes);
            lanes.Clear();
            ref long lane0 = ref MemoryMarshal.GetReference(lanes);
            ref double edge0 = ref MemoryMarshal.GetReference(edges);
            ref double v0 = ref MemoryMarshal.GetReference(values);
            double first = edges[0], last = edges[bins], scale = bins / (last - first);
            int n = values.Length, i = 0;
            for (; i + Lanes <= n; i += Lanes)
            {
                Unsafe.Add(ref lane0, Slot(Unsafe.Add(ref v0, i), first, last, scale, bins, ref edge0))++;
                Unsafe.Add(ref lane0, slots + Slot(Unsafe.Add(ref v0, i + 1), first, last, scale, bins, ref edge0))++;
                Unsafe.Add(ref lane0, 2 * slots + Slot(Unsafe.Add(ref v0, i + 2), first, last, scale, bins, ref edge0))++;
                Unsafe.Add(ref lane0, 3 * slots + Slot(Unsafe.Add(ref v0, i + 3), first, last, scale, bins, ref edge0))++;
            }
            for (; i < n; i++)
                Unsafe.Add(ref lane0, Slot(Unsafe.Add(ref v0, i), first, last, scale, bins, ref edge0))++;
            long missing = 0;
            for (int lane = 0; lane < Lanes; lane++)
            {
                var part = lanes.Slice(lane * slots, slots);
                for (int s = 0; s <= bins + 1; s++) counts[s] += part[s];
                missing += part[bins + 2];
            }
            return missing;
        }
        finally
        {
            ArrayPool<long>.Shared.Return(rented);
        }
    }

    /// <summary>The slot of one value: 0 below, 1..bins inner, bins + 1 above, bins + 2 missing (NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Slot(double v, double first, double last, double scale, int bins, ref double edge0)
    {
        if (v >= first && v <= last)
        {
            int b = (int)((v - first) * scale);
            if (b >= bins) b = bins - 1;
            if (v < Unsafe.Add(ref edge0, b)) b--;
            else if (b != bins - 1 && v >= Unsafe.Add(ref edge0, b + 1)) b++;
            return b + 1;
        }
        if (v < first) return 0;
        return v > last ? bins + 1 : bins + 2;
    }
}
