namespace MLOps.Monitoring.Drift;

/// <summary>The first Wasserstein distance between two empirical distributions, as scipy's <c>stats.wasserstein_distance(u, v)</c>:
/// the integral of |F_u - F_v| over the merged sorted values.</summary>
internal static class Wasserstein
{
    /// <summary>The distance between two sorted samples without NaN; either empty gives NaN.</summary>
    public static double DistanceSorted(ReadOnlySpan<double> u, ReadOnlySpan<double> v)
    {
        int nu = u.Length, nv = v.Length;
        if (nu == 0 || nv == 0) return double.NaN;
        int i = 0, j = 0;
        double sum = 0, previous = Math.Min(u[0], v[0]);
        while (i < nu || j < nv)
        {
            double x = i < nu && (j >= nv || u[i] <= v[j]) ? u[i] : v[j];
            if (i + j > 0) sum += Math.Abs((double)i / nu - (double)j / nv) * (x - previous);
            while (i < nu && u[i] <= x) i++;
            while (j < nv && v[j] <= x) j++;
            previous = x;
        }
        return sum;
    }
}
