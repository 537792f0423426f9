namespace MLOps.Monitoring.Drift;

/// <summary>
/// Distances between two discrete distributions over the same bins (reference <c>p</c>, current <c>q</c>; each sums to 1),
/// as MLRun and scipy define them. Callers normally use <see cref="DriftMetrics"/>, which builds the distributions.
/// </summary>
public static class DistributionDistance
{
    /// <summary>The value a zero bin is replaced with in <see cref="SymmetricKullbackLeibler"/> and <see cref="PopulationStability"/> (MLRun's 1e-4).</summary>
    public const double ZeroBin = 1e-4;

    /// <summary>Total variation distance: sum |p - q| / 2, in [0, 1].</summary>
    /// <param name="p">The reference distribution.</param>
    /// <param name="q">The current distribution, same length.</param>
    /// <returns>The distance.</returns>
    public static double TotalVariation(ReadOnlySpan<double> p, ReadOnlySpan<double> q)
    {
        DriftGuard.SameLength(p.Length, q.Length, nameof(q), nameof(p));
        double sum = 0;
        for (int i = 0; i < p.Length; i++) sum += Math.Abs(p[i] - q[i]);
        return sum / 2;
    }

    /// <summary>Hellinger distance: sqrt(max(1 - sum sqrt(p q), 0)), in [0, 1].</summary>
    /// <param name="p">The reference distribution.</param>
    /// <param name="q">The current distribution, same length.</param>
    /// <returns>The distance.</returns>
    public static double Hellinger(ReadOnlySpan<double> p, ReadOnlySpan<double> q)
    {
        DriftGuard.SameLength(p.Length, q.Length, nameof(q), nameof(p));
        double sum = 0;
        for (int i = 0; i < p.Length; i++) sum += Math.Sqrt(p[i] * q[i]);
        return Math.Sqrt(Math.Max(1 - sum, 0));
    }

    /// <summary>
    /// Symmetric Kullback-Leibler divergence KL(p||q) + KL(q||p), natural log, as MLRun: in KL(a||b) a bin with a = 0 adds
    /// nothing and a bin with b = 0 (a &gt; 0) adds a ln(a / 1e-4).
    /// </summary>
    /// <param name="p">The reference distribution.</param>
    /// <param name="q">The current distribution, same length.</param>
    /// <returns>The divergence.</returns>
    public static double SymmetricKullbackLeibler(ReadOnlySpan<double> p, ReadOnlySpan<double> q)
    {
        DriftGuard.SameLength(p.Length, q.Length, nameof(q), nameof(p));
        return KullbackLeibler(p, q) + KullbackLeibler(q, p);
    }

    private static double KullbackLeibler(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] != 0) sum += a[i] * Math.Log(a[i] / (b[i] != 0 ? b[i] : ZeroBin));
        }
        return sum;
    }

    /// <summary>
    /// Population stability index: sum (q - p) ln(q / p), natural log, where a zero bin on either side is replaced with 1e-4
    /// (as Evidently; a bin that is zero on both sides adds nothing). Common readings: &lt; 0.1 stable, &gt;= 0.25 shifted.
    /// </summary>
    /// <param name="p">The reference distribution.</param>
    /// <param name="q">The current distribution, same length.</param>
    /// <returns>The index.</returns>
    public static double PopulationStability(ReadOnlySpan<double> p, ReadOnlySpan<double> q)
    {
        DriftGuard.SameLength(p.Length, q.Length, nameof(q), nameof(p));
        double sum = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double a = p[i] != 0 ? p[i] : ZeroBin, b = q[i] != 0 ? q[i] : ZeroBin;
            sum += (b - a) * Math.Log(b / a);
        }
        return sum;
    }

    /// <summary>Jensen-Shannon distance as scipy's <c>jensenshannon(p, q)</c> (natural log): sqrt((KL(p||m) + KL(q||m)) / 2), m = (p + q) / 2, in [0, sqrt(ln 2)].</summary>
    /// <param name="p">The reference distribution.</param>
    /// <param name="q">The current distribution, same length.</param>
    /// <returns>The distance.</returns>
    public static double JensenShannon(ReadOnlySpan<double> p, ReadOnlySpan<double> q)
    {
        DriftGuard.SameLength(p.Length, q.Length, nameof(q), nameof(p));
        double sum = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double m = (p[i] + q[i]) / 2;
            if (p[i] > 0) sum += p[i] * Math.Log(p[i] / m);
            if (q[i] > 0) sum += q[i] * Math.Log(q[i] / m);
        }
        return Math.Sqrt(sum / 2);
    }
}
