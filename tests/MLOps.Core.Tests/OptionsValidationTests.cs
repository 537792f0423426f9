using Microsoft.Extensions.DependencyInjection;
using MLOps.Runs;

namespace MLOps.Core.Tests;

/// <summary>Options passed in code list every problem at once (<c>Validate()</c>), each naming the property, the value and
/// the fix, and the method that takes them throws one <see cref="ValidationException"/> with that list.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class OptionsValidationTests
{
    [Test]
    public void RunOptionsValidate_SeveralProblems_ListsEveryOne()
    {
        var errors = new RunOptions
        {
            Labels = new Dictionary<string, string> { [" "] = "x" },
            ParentRunId = " ",
            Iteration = -1,
        }.Validate();

        Assert.That(errors, Has.Count.EqualTo(3));
        Assert.That(errors, Has.One.StartWith("RunOptions.Labels: "));
        Assert.That(errors, Has.One.StartWith("RunOptions.ParentRunId: ").And.Contain("only white space"));
        Assert.That(errors, Has.One.Contain("RunOptions.Iteration is -1").And.Contain("0 or more"));
    }

    [Test]
    public async Task RunsStartAsync_SeveralBadOptions_ThrowsOneValidationExceptionListingThem()
    {
        using var folder = new TempFolder();
        await using var project = await MLOpsProject.Configure("run-options").UseHome(folder.Path).CaptureGit(false).OpenAsync();
        var options = new RunOptions { ParentRunId = "", Iteration = -2 };

        var e = Assert.ThrowsAsync<ValidationException>(() => project.Runs.StartAsync("train", options));

        Assert.That(e!.Errors, Is.EqualTo(options.Validate()));
        Assert.That(e.Errors, Has.Count.EqualTo(2));
        Assert.That(e.Message, Does.Contain("run 'train'"));
        Assert.That((await project.Runs.SearchAsync()).Runs, Is.Empty);
    }

    [Test]
    public void ReadOptionsValidate_SeveralProblems_ListsEveryOne()
    {
        var csv = new CsvReadOptions { BatchSize = 0, TextColumns = new HashSet<string> { "zip", "" } }.Validate();
        var parquet = new ParquetReadOptions { BatchSize = -1, Columns = [" "] }.Validate();

        Assert.That(csv, Has.Count.EqualTo(2));
        Assert.That(csv, Has.One.Contain("CsvReadOptions.BatchSize is 0"));
        Assert.That(csv, Has.One.Contain("CsvReadOptions.TextColumns holds a blank name"));
        Assert.That(parquet, Has.Count.EqualTo(2));
        Assert.That(parquet, Has.One.Contain("ParquetReadOptions.BatchSize is -1"));
        Assert.That(new CsvReadOptions().Validate().Concat(new ParquetReadOptions().Validate()).Concat(new RunOptions().Validate()), Is.Empty);
    }

    [TestCase("")]
    [TestCase(" ")]
    public void AddMLOpsMetadataStore_BlankName_ThrowsValidationExceptionNamingIt(string name)
    {
        var e = Assert.Throws<ValidationException>(() => new ServiceCollection().AddHealthChecks().AddMLOpsMetadataStore(name: name));

        Assert.That(e!.Message, Does.Contain("'name'").And.Contain("Pass a non-empty 'name'"));
    }
}
