namespace MLOps.Monitoring.Drift;

/// <summary>
/// The two-sample Kolmogorov-Smirnov test as scipy's <c>stats.ks_2samp</c> (scipy 1.10, two-sided, <c>method='auto'</c>):
/// the exact p-value (Hodges' lattice-path count, Viehmann's recursion for 1 - p) when both samples have at most 10,000
/// values, else the Kolmogorov distribution of n = round(n1 n2 / (n1 + n2)) (<c>kstwo.sf</c>, Simard and L'Ecuyer's choice of
/// method by n and d).
/// </summary>
internal static class KolmogorovSmirnov
{
    internal const int MaxExactSize = 10_000;

    /// <summary>The test on two sorted samples without NaN; either empty gives NaN.</summary>
    public static KolmogorovSmirnovResult TestSorted(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        int n1 = a.Length, n2 = b.Length;
        if (n1 == 0 || n2 == 0) return new KolmogorovSmirnovResult(double.NaN, double.NaN, false);
        double maxS = double.NegativeInfinity, minS = double.PositiveInfinity;
        int i = 0, j = 0;
        while (i < n1 || j < n2)
        {
            double x = i < n1 && (j >= n2 || a[i] <= b[j]) ? a[i] : b[j];
            while (i < n1 && a[i] <= x) i++;
            while (j < n2 && b[j] <= x) j++;
            double diff = (double)i / n1 - (double)j / n2;
            if (diff > maxS) maxS = diff;
            if (diff < minS) minS = diff;
        }
        double d = Math.Max(maxS, Math.Clamp(-minS, 0, 1));
        if (Math.Max(n1, n2) <= MaxExactSize && TryExact(n1, n2, ref d, out double exact))
            return new KolmogorovSmirnovResult(d, Math.Clamp(exact, 0, 1), true);
        double m = Math.Max(n1, n2), n = Math.Min(n1, n2);
        double en = Math.Round(m * n / (m + n), MidpointRounding.ToEven);
        return new KolmogorovSmirnovResult(d, Math.Clamp(KolmogorovDistribution.Survival((long)en, d), 0, 1), false);
    }

    private static bool TryExact(int n1, int n2, ref double d, out double p)
    {
        long g = Gcd(n1, n2);
        long lcm = n1 / g * n2;
        long h = (long)Math.Round(d * lcm, MidpointRounding.ToEven);
        d = h * 1.0 / lcm;
        if (h == 0) { p = 1; return true; }
        p = n1 == n2 ? ProbOutsideSquare(n1, h) : OuterProbInside(n1, n2, g, h);
        return double.IsFinite(p) && p >= 0 && p <= 1;
    }

    private static long Gcd(long a, long b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }

    private static double ProbOutsideSquare(long n, long h)
    {
        double total = 0;
        long k = n / h;
        while (k >= 0)
        {
            double p1 = 1;
            for (long j = 0; j < h; j++) p1 = (n - k * h - j) * p1 / (n + k * h + j + 1);
            total = p1 * (1 - total);
            k--;
        }
        return 2 * total;
    }

    private static double OuterProbInside(long m, long n, long g, long h)
    {
        if (m < n) (m, n) = (n, m);
        long mg = m / g, ng = n / g;
        long minj = 0, maxj = Math.Min((long)Math.Ceiling(h / (double)mg), n + 1);
        long curlen = maxj - minj;
        long lenA = Math.Min(2 * maxj + 2, n + 1);
        var a = new double[lenA];
        Array.Fill(a, 1.0);
        for (long x = minj; x < maxj; x++) a[x] = 0;
        for (long i = 1; i <= m; i++)
        {
            long lastminj = minj, lastlen = curlen;
            minj = Math.Max((long)Math.Floor((ng * i - h) / (double)mg) + 1, 0);
            minj = Math.Min(minj, n);
            maxj = Math.Min((long)Math.Ceiling((ng * i + h) / (double)mg), n + 1);
            if (maxj <= minj) return 1.0;
            double val = minj == 0 ? 0.0 : 1.0;
            for (long jj = 0; jj < maxj - minj; jj++)
            {
                long j = jj + minj;
                val = (a[jj + minj - lastminj] * i + val * j) / (i + j);
                a[jj] = val;
            }
            curlen = maxj - minj;
            if (lastlen > curlen)
            {
                for (long x = maxj - minj; x < Math.Min(maxj - minj + (lastlen - curlen), lenA); x++) a[x] = 1;
            }
        }
        return a[maxj - minj - 1];
    }
}
