using MLOps.Artifacts;

namespace MLOps.Core.Tests.Data;

[Parallelizable(ParallelScope.All)]
public sealed class RadixSortTests
{
    /// <summary>Property test: over many seeds and value shapes, the radix sort equals <see cref="Array.Sort(Array)"/>.</summary>
    [Test]
    public void Sort_RandomFiniteValues_EqualsArraySort()
    {
        for (var seed = 0; seed < 60; seed++)
        {
            var random = new Random(seed);
            var n = seed % 3 == 0 ? random.Next(0, 5000) : random.Next(4096, 40_000);
            var shape = seed % 5;
            var values = new double[n];
            for (var i = 0; i < n; i++)
            {
                values[i] = shape switch
                {
                    0 => random.Next(-50, 500),                                       // whole numbers, duplicates
                    1 => (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-300, 300)), // every magnitude, both signs
                    2 => random.Next(4) == 0 ? 0.0 : random.NextDouble() * 1e6,          // zeros among positives
                    3 => -random.NextDouble(),                                         // negatives only
                    _ => random.Next(3) switch { 0 => double.MaxValue * (random.Next(2) == 0 ? 1 : -1), 1 => double.Epsilon, _ => random.NextDouble() },
                };
            }

            var expected = (double[])values.Clone();
            Array.Sort(expected);
            RadixSort.Sort(values);

            Assert.That(values, Is.EqualTo(expected), $"seed {seed}, shape {shape}, n {n}");
        }
    }

    [Test]
    public void Sort_NegativeAndPositiveZero_PutsNegativeZeroFirst()
    {
        var values = Enumerable.Range(0, 5000).Select(i => i % 2 == 0 ? 0.0 : -0.0).Append(-1).Append(1).ToArray();
        RadixSort.Sort(values);
        Assert.That(values[0], Is.EqualTo(-1));
        Assert.That(double.IsNegative(values[1]) && values[1] == 0, Is.True);
        Assert.That(double.IsNegative(values[2500]), Is.True);
        Assert.That(double.IsNegative(values[2501]), Is.False);
        Assert.That(values[^1], Is.EqualTo(1));
    }
}
