using MLOps.FeatureStore.Online;

namespace MLOps.FeatureStore.Tests.Online;

/// <summary>The default <see cref="IOnlineReader.TryReadMany"/> that other back-ends inherit: one <see cref="IOnlineReader.TryRead"/> per key.</summary>
public class OnlineReaderDefaultsTests
{
    /// <summary>A reader of an in-memory dictionary that implements only <see cref="IOnlineReader.TryRead"/>.</summary>
    private sealed class DictionaryReader(Dictionary<string, (long Time, double Value)> rows) : IOnlineReader
    {
        public List<string> Reads { get; } = [];

        public IReadOnlyList<FeatureColumn> Columns { get; } = [new("value", FeatureType.Double), new("twice", FeatureType.Double)];

        public bool TryRead(string entityKey, Span<FeatureValue> destination, out long eventTime)
        {
            Reads.Add(entityKey);
            if (!rows.TryGetValue(entityKey, out var row))
            {
                eventTime = 0;
                return false;
            }
            destination[0] = FeatureValue.FromDouble(row.Value);
            destination[1] = FeatureValue.FromDouble(row.Value * 2);
            eventTime = row.Time;
            return true;
        }

        public void Dispose()
        {
        }
    }

    [Test]
    public void TryReadMany_DefaultImplementation_ReadsEachNonNullKeyOnce()
    {
        using var reader = new DictionaryReader(new() { ["a"] = (10, 1), ["b"] = (20, 2) });
        IOnlineReader online = reader;
        var values = new FeatureValue[8];
        var times = new long[] { -1, -1, -1, -1 };
        var found = new bool[4];

        var hits = online.TryReadMany(["b", null, "missing", "a"], values, times, found);

        Assert.That(hits, Is.EqualTo(2));
        Assert.That(reader.Reads, Is.EqualTo(new[] { "b", "missing", "a" }), "a null key is a miss without a read");
        Assert.That(found, Is.EqualTo(new[] { true, false, false, true }));
        Assert.That(times, Is.EqualTo(new long[] { 20, 0, 0, 10 }));
        Assert.That(values.Select(v => v.Number), Is.EqualTo(new[] { 2.0, 4.0, 0, 0, 0, 0, 1.0, 2.0 }));
    }

    [Test]
    public void TryReadMany_DefaultImplementationShortDestination_ThrowsArgument()
    {
        IOnlineReader reader = new DictionaryReader([]);

        var e = Assert.Throws<ArgumentException>(() => reader.TryReadMany(["a", "b"], new FeatureValue[3], new long[2], new bool[2]));
        Assert.That(e!.ParamName, Is.EqualTo("destination"));
    }
}
