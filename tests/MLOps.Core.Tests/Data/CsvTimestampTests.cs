using System.Globalization;
using MLOps.Artifacts;

namespace MLOps.Core.Tests.Data;

[Parallelizable(ParallelScope.All)]
public sealed class CsvTimestampTests
{
    [TestCase("2001/01/01 06:02", "2001-01-01T06:02:00.0000000+00:00")]
    [TestCase("2001/12/31 23:59:59", "2001-12-31T23:59:59.0000000+00:00")]
    [TestCase("2024-02-29", "2024-02-29T00:00:00.0000000+00:00")]
    [TestCase("2024-01-01T10:00", "2024-01-01T10:00:00.0000000+00:00")]
    [TestCase("2024-01-01 10:00:00", "2024-01-01T10:00:00.0000000+00:00")]
    [TestCase("2024-01-01T10:00:00Z", "2024-01-01T10:00:00.0000000+00:00")]
    [TestCase("2024-01-01T10:00:00.5Z", "2024-01-01T10:00:00.5000000+00:00")]
    [TestCase("2024-01-01T10:00:00.1234567+02:00", "2024-01-01T08:00:00.1234567+00:00")]
    [TestCase("2024-01-01T00:30:00-01:30", "2024-01-01T02:00:00.0000000+00:00")]
    [TestCase("  2024-01-01T10:00:00Z ", "2024-01-01T10:00:00.0000000+00:00")]
    public void TryParseTimestamp_SupportedShape_ParsesAsUtc(string cell, string expected)
    {
        Assert.That(CsvBatchReader.TryParseTimestamp(cell, out var value), Is.True);
        Assert.That(value, Is.EqualTo(DateTimeOffset.Parse(expected, CultureInfo.InvariantCulture)));
        Assert.That(value.Offset, Is.EqualTo(TimeSpan.Zero));
    }

    [TestCase("2023-02-29")]
    [TestCase("2024-13-01")]
    [TestCase("2024-01-01T24:00")]
    [TestCase("2024/01/01")]
    [TestCase("2024/01/01 10:00Z")]
    [TestCase("20240101")]
    [TestCase("12345")]
    [TestCase("hello world")]
    [TestCase("2024-01-01T10:00:00+15:00")]
    [TestCase("2024-01-01X10:00")]
    public void TryParseTimestamp_OtherText_IsNotATimestamp(string cell)
        => Assert.That(CsvBatchReader.TryParseTimestamp(cell, out _), Is.False);
}
