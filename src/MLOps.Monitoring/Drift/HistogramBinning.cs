using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
            if (Avx2.IsSupported && (last - first) / bins != 0 && bins <= int.MaxValue / 8)
                i = CountAvx2(values, edges, lanes, slots);
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

    /// <summary>Four values at a time: the slot arithmetic and the edge corrections in AVX2 (the two edges of each guess computed
    /// as numpy's linspace does), then four scalar increments into the four sub-histograms. Returns how many values were counted.</summary>
    private static int CountAvx2(ReadOnlySpan<double> values, ReadOnlySpan<double> edges, Span<long> lanes, int slots)
    {
        int bins = edges.Length - 1, n = values.Length, i = 0;
        double first = edges[0], last = edges[bins];
        var vFirst = Vector256.Create(first);
        var vLast = Vector256.Create(last);
        var vScale = Vector256.Create(bins / (last - first));
        var vMaxBin = Vector128.Create(bins - 1);
        var vOne = Vector128.Create(1);
        var vBelow = Vector128.Create(0);
        var vAbove = Vector128.Create(bins + 1);
        var vMissing = Vector128.Create(bins + 2);
        var vLaneOffsets = Vector128.Create(0, slots, 2 * slots, 3 * slots);
        var vStep = Vector256.Create((last - first) / bins);
        ref long lane0 = ref MemoryMarshal.GetReference(lanes);
        ref double v0 = ref MemoryMarshal.GetReference(values);
        for (; i + 4 <= n; i += 4)
        {
            var v = Vector256.LoadUnsafe(ref v0, (nuint)i);
            var inside = Avx.And(Avx.CompareGreaterThanOrEqual(v, vFirst), Avx.CompareLessThanOrEqual(v, vLast));
            // Outside values are moved to the first edge so that the guess stays in range; their slot is chosen below.
            var x = Avx.BlendVariable(vFirst, v, inside);
            var b = Sse41.Min(Avx.ConvertToVector128Int32WithTruncation(Avx.Multiply(Avx.Subtract(x, vFirst), vScale)), vMaxBin);
            // The edges as numpy's linspace computes them (i x step + first); the last edge is never needed here.
            var lo = Avx.Add(Avx.Multiply(Avx.ConvertToVector256Double(b), vStep), vFirst);
            var hi = Avx.Add(Avx.Multiply(Avx.ConvertToVector256Double(Sse2.Add(b, vOne)), vStep), vFirst);
            var down = NarrowMask(Avx.CompareLessThan(x, lo));
            var up = Sse2.AndNot(Sse2.CompareEqual(b, vMaxBin), NarrowMask(Avx.CompareGreaterThanOrEqual(x, hi)));
            b = Sse2.Subtract(Sse2.Add(b, down), up); // masks are -1: add down (b - 1), subtract up (b + 1)
            var slot = Sse2.Add(b, vOne);
            var below = NarrowMask(Avx.CompareLessThan(v, vFirst));
            var above = NarrowMask(Avx.CompareGreaterThan(v, vLast));
            var insideMask = NarrowMask(inside);
            var outsideSlot = Sse41.BlendVariable(Sse41.BlendVariable(vMissing, vAbove, above), vBelow, below);
            slot = Sse41.BlendVariable(outsideSlot, slot, insideMask);
            slot = Sse2.Add(slot, vLaneOffsets);
            Unsafe.Add(ref lane0, slot.GetElement(0))++;
            Unsafe.Add(ref lane0, slot.GetElement(1))++;
            Unsafe.Add(ref lane0, slot.GetElement(2))++;
            Unsafe.Add(ref lane0, slot.GetElement(3))++;
        }
        return i;
    }

    /// <summary>Four 64-bit lane masks as four 32-bit lane masks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> NarrowMask(Vector256<double> mask)
    {
        var m = mask.AsInt32();
        return Sse.Shuffle(m.GetLower().AsSingle(), m.GetUpper().AsSingle(), 0b10_00_10_00).AsInt32();
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
