using MLOps.FeatureStore.Aggregations;

namespace MLOps.FeatureStore.Tests.Aggregations;

[Parallelizable(ParallelScope.All)]
public sealed class FeatureWindowTests
{
    [TestCase("30s", 30, 's', 30_000_000L)]
    [TestCase("10m", 10, 'm', 600_000_000L)]
    [TestCase("1h", 1, 'h', 3_600_000_000L)]
    [TestCase("1d", 1, 'd', 86_400_000_000L)]
    [TestCase("90m", 90, 'm', 5_400_000_000L)]
    public void Parse_Valid_AmountUnitAndExactLength(string text, long amount, char unit, long micros)
    {
        var window = FeatureWindow.Parse(text);
        Assert.That(window.Amount, Is.EqualTo(amount));
        Assert.That(window.Unit, Is.EqualTo(unit));
        Assert.That(window.Microseconds, Is.EqualTo(micros));
        Assert.That(window.ToString(), Is.EqualTo(text));
        Assert.That(FeatureWindow.TryParse(text, out var parsed), Is.True);
        Assert.That(parsed, Is.EqualTo(window));
    }

    [TestCase("1x")]
    [TestCase("0h")]
    [TestCase("-1h")]
    [TestCase("h")]
    [TestCase("1.5h")]
    [TestCase("")]
    [TestCase("1H")]
    [TestCase(" 1h")]
    public void Parse_Invalid_ValidationExceptionNamesValueAndRule(string text)
    {
        var e = Assert.Throws<ValidationException>(() => FeatureWindow.Parse(text));
        Assert.That(e!.Message, Does.Contain($"'{text}'"));
        Assert.That(e.Message, Does.Contain("<n><s|m|h|d>"));
        Assert.That(e.Errors, Has.Count.EqualTo(1));
        Assert.That(FeatureWindow.TryParse(text, out _), Is.False);
    }

    [Test]
    public void TryParse_Null_False() => Assert.That(FeatureWindow.TryParse(null, out _), Is.False);

    [Test]
    public void Equality_SameText_EqualAndSameHash()
    {
        Assert.That(FeatureWindow.Parse("1h"), Is.EqualTo(FeatureWindow.Parse("1h")));
        Assert.That(FeatureWindow.Parse("1h").GetHashCode(), Is.EqualTo(FeatureWindow.Parse("1h").GetHashCode()));
        Assert.That(FeatureWindow.Parse("1h"), Is.Not.EqualTo(FeatureWindow.Parse("60m")));
        Assert.That(FeatureWindow.Parse("1h").Microseconds, Is.EqualTo(FeatureWindow.Parse("60m").Microseconds));
    }
}
