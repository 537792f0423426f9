using Microsoft.Extensions.DependencyInjection;
using MLOps.Serving.Batch;
using MLOps.Serving.Remote;

namespace MLOps.Serving.Tests;

/// <summary>Options passed in code list every problem at once (<c>Validate()</c>), and the boundary that takes them throws
/// one <see cref="ValidationException"/> with those problems; a bad value at a public boundary is a
/// <see cref="ValidationException"/>, not an <see cref="ArgumentException"/>.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class OptionsValidationTests
{
    [Test]
    public void RemoteModelOptionsValidate_SeveralProblems_ListsEveryOneAndTheConstructorThrowsThem()
    {
        var options = new RemoteModelOptions { RemoteName = " ", RemoteVersion = "", MaxResponseBytes = 0 };
        using var client = new HttpClient { BaseAddress = new Uri("http://127.0.0.1:1/") };

        var errors = options.Validate();
        var e = Assert.Throws<ValidationException>(() => _ = new RemoteModel("delay-model", client, options));

        Assert.That(errors, Has.Count.EqualTo(3));
        Assert.That(errors, Has.One.Contain("RemoteModelOptions.RemoteName is blank").And.Contain("leave it null"));
        Assert.That(errors, Has.One.Contain("RemoteModelOptions.RemoteVersion is blank"));
        Assert.That(errors, Has.One.Contain("RemoteModelOptions.MaxResponseBytes is 0").And.Contain("use 1 to"));
        Assert.That(e!.Errors, Is.EqualTo(errors));
        Assert.That(e.Message, Does.Contain("remote model 'delay-model'"));
    }

    [Test]
    public void RemoteModelOptionsValidate_Defaults_IsEmpty()
        => Assert.That(new RemoteModelOptions().Validate(), Is.Empty);

    [Test]
    public async Task BatchInferenceRunAsync_SeveralBadOptions_ThrowsOneValidationExceptionListingThem()
    {
        using var folder = new TempFolder();
        await using var project = await MLOpsProject.Configure("batch-options").UseHome(folder.Path).CaptureGit(false).OpenAsync();
        var options = new BatchInferenceOptions { RunName = "", OutputKey = " ", BatchSize = 0, KeepColumns = ["id", " "] };

        var e = Assert.ThrowsAsync<ValidationException>(() => BatchInference.RunAsync(project, "store://models/batch-options/none:1", "flights.parquet", options));

        Assert.That(e!.Errors, Is.EqualTo(options.Validate()));
        Assert.That(e.Errors, Has.Count.EqualTo(4));
        Assert.That(e.Errors, Has.One.Contain("BatchInferenceOptions.BatchSize is 0").And.Contain("positive"));
        Assert.That(e.Errors, Has.One.Contain("BatchInferenceOptions.RunName is ''"));
        Assert.That(e.Errors, Has.One.Contain("BatchInferenceOptions.OutputKey is ' '"));
        Assert.That(e.Errors, Has.One.Contain("BatchInferenceOptions.KeepColumns[1] is ' '"));
    }

    [TestCase("")]
    [TestCase("  ")]
    public void AddServingReadiness_BlankName_ThrowsValidationExceptionNamingIt(string name)
    {
        var builder = new ServiceCollection().AddHealthChecks();

        var e = Assert.Throws<ValidationException>(() => builder.AddServingReadiness(name));

        Assert.That(e!.Message, Does.Contain("'name'").And.Contain("Pass a non-empty 'name'"));
    }
}
