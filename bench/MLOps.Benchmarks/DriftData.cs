using MLOps.Monitoring.Drift;

namespace MLOps.Benchmarks;

/// <summary>The drift benchmark's data, seeded: 50 numeric features, a 100,000-row reference and a 1,000,000-row current window
/// per feature (a mix of normal, skewed and integer-valued columns, the current slightly shifted, about 1% NaN).</summary>
internal sealed class DriftData
{
    public const int Features = 50;
    public const int ReferenceRows = 100_000;
    public const int CurrentRows = 1_000_000;

    public DriftData(int currentRows = CurrentRows)
    {
        var random = new Random(20261208);
        References = new NumericReference[Features];
        Current = new double[Features][];
        for (int f = 0; f < Features; f++)
        {
            var reference = Column(random, ReferenceRows, f, shift: 0);
            References[f] = NumericReference.Create($"f{f}", reference);
            Current[f] = Column(random, currentRows, f, shift: 0.1);
        }
    }

    public NumericReference[] References { get; }

    public double[][] Current { get; }

    private static double[] Column(Random random, int rows, int feature, double shift)
    {
        var values = new double[rows];
        for (int i = 0; i < rows; i++)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            double normal = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2) + shift;
            values[i] = (feature % 3) switch
            {
                0 => normal * 40 + 5,                // delay-like
                1 => Math.Exp(6.5 + 0.6 * normal),     // distance-like, skewed
                _ => Math.Round(normal * 3 + 10),      // integer-valued, many ties
            };
            if (random.Next(100) == 0) values[i] = double.NaN;
        }
        return values;
    }
}
