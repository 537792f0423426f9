using MLOps.Runs;

namespace MLOps.Core.Tests.Runs.Hyper;

[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class HyperSelectorTests
{
    [TestCase("max:auc", true, "auc")]
    [TestCase("min:loss", false, "loss")]
    [TestCase(" MAX : train/auc ", true, "train/auc")]
    [TestCase("max.accuracy", true, "accuracy")]
    public void Parse_ValidText_ReadsDirectionAndKey(string text, bool maximize, string key)
    {
        var selector = HyperSelector.Parse(text);

        Assert.That(selector.Maximize, Is.EqualTo(maximize));
        Assert.That(selector.Key, Is.EqualTo(key));
        Assert.That(selector.ToString(), Is.EqualTo((maximize ? "max:" : "min:") + key));
    }

    [TestCase("")]
    [TestCase("auc")]
    [TestCase("best:auc")]
    [TestCase("max:")]
    [TestCase("min:bad key")]
    public void Parse_InvalidText_ThrowsNamingTextAndExpectedForm(string text)
    {
        var e = Assert.Throws<ValidationException>(() => HyperSelector.Parse(text));

        Assert.That(e!.Message, Does.Contain($"'{text}'").And.Contain("'max:<key>'"));
    }

    [Test]
    public void Max_AndParse_AreEqual()
    {
        Assert.That(HyperSelector.Max("auc"), Is.EqualTo(HyperSelector.Parse("max:auc")));
        Assert.That(HyperSelector.Min("auc"), Is.Not.EqualTo(HyperSelector.Max("auc")));
    }
}
