using Apache.Arrow;

namespace MLOps.Monitoring.Tests.Capture;

public sealed class CaptureReadRangeTests
{
    private static RecordBatch Column(string name, double value) => new RecordBatch.Builder().Append(name, false, c => c.Double(a => a.Append(value))).Build();

    [Test]
    public async Task ReadCapturedAsync_RangeAcrossMidnightAndLongRanges_ReturnsExactlyTheRowsInRange()
    {
        await using var served = await ServedFlights.StartAsync();
        var monitoring = served.Project.Monitoring;
        var endpoint = await monitoring.RegisterEndpointAsync("manual");
        var midnight = new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);
        DateTimeOffset[] times = [midnight.AddMinutes(-65), midnight.AddMinutes(-5), midnight.AddMinutes(5), midnight.AddDays(40)];
        for (int i = 0; i < times.Length; i++)
            await monitoring.RecordResultsAsync("manual", null, Column("x", i), Column("y", i), times[i]);

        async Task<List<double>> ReadAsync(DateTimeOffset? from, DateTimeOffset? to)
        {
            var values = new List<double>();
            await foreach (var batch in monitoring.ReadCapturedAsync(endpoint.Id, from, to))
                values.AddRange(((DoubleArray)batch.Column("input.x")).Values.ToArray());
            return values;
        }

        Assert.That(await ReadAsync(midnight.AddMinutes(-10), midnight.AddMinutes(10)), Is.EqualTo(new[] { 1.0, 2.0 }));   // two day folders
        Assert.That(await ReadAsync(midnight.AddMinutes(-5), midnight.AddMinutes(5)), Is.EqualTo(new[] { 1.0 }));          // [from, to)
        Assert.That(await ReadAsync(midnight.AddHours(-2), midnight.AddDays(41)), Is.EqualTo(new[] { 0.0, 1.0, 2.0, 3.0 })); // longer than the hour walk
        Assert.That(await ReadAsync(null, midnight), Is.EqualTo(new[] { 0.0, 1.0 }));
        Assert.That(await ReadAsync(midnight.AddDays(1), null), Is.EqualTo(new[] { 3.0 }));
    }
}
