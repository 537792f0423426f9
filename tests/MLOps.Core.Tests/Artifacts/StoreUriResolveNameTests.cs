using MLOps.Artifacts;

namespace MLOps.Core.Tests.Artifacts;

/// <summary><see cref="StoreUri.ResolveName"/>, public for packages that keep specs of their own in the metadata store.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class StoreUriResolveNameTests
{
    [Test]
    public void ResolveName_PlainName_KeepsNameAndVersionOrTag()
        => Assert.That(StoreUri.ResolveName("delays", "latest", StoreUri.FeatureSets, "flights"), Is.EqualTo(("delays", "latest")));

    [TestCase("store://feature-sets/flights/delays:3", "3")]
    [TestCase("store://feature-sets/flights/delays", "latest")]
    public void ResolveName_Uri_TakesTheUrisReferenceOverTheArgument(string uri, string expected)
        => Assert.That(StoreUri.ResolveName(uri, "latest", StoreUri.FeatureSets, "flights"), Is.EqualTo(("delays", expected)));

    [Test]
    public void ResolveName_OtherSchemeOrProject_ThrowsValidationExceptionWithTheFix()
    {
        var scheme = Assert.Throws<ValidationException>(() => StoreUri.ResolveName("store://serving-graphs/flights/g:1", "latest", StoreUri.FeatureSets, "flights"));
        Assert.That(scheme!.Message, Does.Contain("is not a feature-sets URI").And.Contain("store://feature-sets/flights/<name>"));
        var project = Assert.Throws<ValidationException>(() => StoreUri.ResolveName("store://feature-sets/other/delays:1", "latest", StoreUri.FeatureSets, "flights"));
        Assert.That(project!.Message, Does.Contain("belongs to project 'other'"));
        var empty = Assert.Throws<ValidationException>(() => StoreUri.ResolveName(" ", "latest", StoreUri.FeatureSets, "flights"));
        Assert.That(empty!.Message, Does.Contain("name or URI").And.Contain("only white space"));
    }
}
