using System.Security.Cryptography;
using System.Text;
using MLOps.Artifacts;

namespace MLOps.Core.Tests.Artifacts;

[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class ArtifactCatalogTests
{
    private readonly TempFolder _folder = new();
    private MLOpsProject _project = null!;

    [SetUp]
    public async Task SetUp() => _project = await TestProjects.OpenAsync(_folder, "flights");

    [TearDown]
    public async Task TearDown()
    {
        await _project.DisposeAsync();
        _folder.Dispose();
    }

    private string WriteFile(string name, string content)
    {
        var path = _folder.File(name);
        File.WriteAllText(path, content);
        return path;
    }

    [Test]
    public async Task LogFileAsync_ContentAddressedBySha256()
    {
        var a = await _project.Artifacts.LogFileAsync("reports/summary", WriteFile("s.txt", "hello"));
        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("hello")));
        Assert.That(a.Hash, Is.EqualTo(expected));
        Assert.That(a.Size, Is.EqualTo(5));
        Assert.That(a.Uri, Is.EqualTo("store://artifacts/flights/reports/summary:1"));
        Assert.That(File.ReadAllText(_project.Artifacts.GetLocalPath(a)), Is.EqualTo("hello"));
        Assert.That(await _project.Artifacts.VerifyAsync(a.Uri), Is.True);
    }

    [Test]
    public async Task LogFileAsync_SameContentTwice_StoredOnceTwoVersions()
    {
        var a = await _project.Artifacts.LogFileAsync("x", WriteFile("a.txt", "same"));
        var b = await _project.Artifacts.LogFileAsync("y", WriteFile("b.txt", "same"));
        var c = await _project.Artifacts.LogFileAsync("x", WriteFile("c.txt", "same"));
        Assert.That(a.Hash, Is.EqualTo(b.Hash));
        Assert.That(c.Version, Is.EqualTo(2));
        var objects = Directory.GetFiles(Path.Combine(_project.ArtifactRoot, "objects"), "*", SearchOption.AllDirectories);
        Assert.That(objects, Has.Length.EqualTo(1));
        Assert.That(Directory.GetFiles(Path.Combine(_project.ArtifactRoot, "tmp")), Is.Empty, "no temp file left behind");
    }

    [Test]
    public async Task GetAsync_ByUriKeyVersionAndTag_ResolvesAndLatestMoves()
    {
        await _project.Artifacts.LogFileAsync("model-card", WriteFile("1.md", "v1"));
        await _project.Artifacts.TagAsync("model-card", 1, "prod");
        await _project.Artifacts.LogFileAsync("model-card", WriteFile("2.md", "v2"));
        Assert.That((await _project.Artifacts.GetAsync("model-card")).Version, Is.EqualTo(2));
        Assert.That((await _project.Artifacts.GetAsync("model-card:prod")).Version, Is.EqualTo(1));
        Assert.That((await _project.Artifacts.GetAsync("store://artifacts/flights/model-card:1")).Version, Is.EqualTo(1));
        Assert.That((await _project.Artifacts.GetAsync("store://artifacts/flights/model-card")).Version, Is.EqualTo(2));
        await using var s = await _project.Artifacts.OpenReadAsync("model-card:prod");
        Assert.That(new StreamReader(s).ReadToEnd(), Is.EqualTo("v1"));
        var e = Assert.ThrowsAsync<NotFoundException>(() => _project.Artifacts.GetAsync("model-card:staging"));
        Assert.That(e!.Message, Does.Contain("prod").And.Contain("versions 1 to 2"));
        Assert.ThrowsAsync<NotFoundException>(() => _project.Artifacts.GetAsync("nothing"));
        Assert.ThrowsAsync<ValidationException>(() => _project.Artifacts.TagAsync("model-card", 1, "latest"));
    }

    [TestCase("../etc/passwd")]
    [TestCase("/etc/passwd")]
    [TestCase("a/../../b")]
    [TestCase("C:\\windows\\x")]
    [TestCase("a\\b")]
    [TestCase("a//b")]
    [TestCase("")]
    public void LogFileAsync_BadKey_ThrowsValidation(string key)
    {
        var path = WriteFile("f.txt", "x");
        var e = Assert.ThrowsAsync<ValidationException>(() => _project.Artifacts.LogFileAsync(key, path));
        Assert.That(e!.Message, Does.Contain("artifact key"));
    }

    [Test]
    public void LogFileAsync_MissingFile_ThrowsArtifactExceptionNamingIt()
    {
        var e = Assert.ThrowsAsync<ArtifactException>(() => _project.Artifacts.LogFileAsync("x", _folder.File("missing.bin")));
        Assert.That(e!.Message, Does.Contain("missing.bin"));
    }

    [Test]
    public async Task LogPlotAndTable_KindsAndContent()
    {
        var svg = "<svg xmlns='http://www.w3.org/2000/svg'/>"u8.ToArray();
        var plot = await _project.Artifacts.LogPlotAsync("plots/roc", svg, "svg");
        Assert.That((plot.Kind, plot.FileName, plot.MetadataJson), Is.EqualTo((ArtifactKind.Plot, "roc.svg", "{\"format\":\"svg\"}")));
        var table = await _project.Artifacts.LogTableAsync("confusion", ["actual", "predicted", "count"], [["yes", "yes", 10], ["no", "yes, maybe", 2]]);
        await using var s = await _project.Artifacts.OpenReadAsync(table.Uri);
        Assert.That(new StreamReader(s).ReadToEnd(), Is.EqualTo("actual,predicted,count\nyes,yes,10\nno,\"yes, maybe\",2\n"));
        Assert.ThrowsAsync<ValidationException>(() => _project.Artifacts.LogPlotAsync("p", svg, "gif"));
        Assert.ThrowsAsync<ValidationException>(() => _project.Artifacts.LogTableAsync("t", ["a", "b"], [["only-one"]]));
        Assert.That((await _project.Artifacts.ListAsync(ArtifactKind.Plot)).Select(a => a.Key), Is.EqualTo(new[] { "plots/roc" }));
    }

    [Test]
    public async Task LogDatasetAsync_CsvOfFlights_ProfileRecorded()
    {
        var csv = _folder.File("flights.csv");
        var lines = new List<string> { "date,delay,distance,origin" };
        var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(TestProjects.FlightsJson));
        foreach (var f in json.RootElement.EnumerateArray().Take(1000))
            lines.Add($"{f.GetProperty("date").GetString()},{f.GetProperty("delay").GetInt32()},{f.GetProperty("distance").GetInt32()},{f.GetProperty("origin").GetString()}");
        File.WriteAllLines(csv, lines);
        var a = await _project.Artifacts.LogDatasetAsync("flights-sample", csv);
        Assert.That(a.Uri, Is.EqualTo("store://datasets/flights/flights-sample:1"));
        var profile = await _project.Artifacts.GetDatasetProfileAsync(a.Uri);
        Assert.That(profile.RowCount, Is.EqualTo(1000));
        Assert.That(profile.Preview, Has.Count.EqualTo(20));
        Assert.That(profile.Schema.Select(c => c.Name), Is.EqualTo(new[] { "date", "delay", "distance", "origin" }));
        var delay = profile.Statistics.Single(s => s.Name == "delay");
        Assert.That(delay.Histogram!.Counts.Sum(), Is.EqualTo(1000));
        var rows = 0L;
        await foreach (var batch in _project.Artifacts.ReadDatasetAsync(a.Uri)) rows += batch.Length;
        Assert.That(rows, Is.EqualTo(1000));
    }

    [Test]
    public async Task LogDatasetAsync_NotADataset_ProfileRefused()
    {
        var a = await _project.Artifacts.LogFileAsync("notes", WriteFile("n.txt", "x"));
        Assert.ThrowsAsync<ValidationException>(() => _project.Artifacts.GetDatasetProfileAsync(a.Uri));
    }

    [Test]
    public async Task DownloadAsync_CopiesContent()
    {
        await _project.Artifacts.LogFileAsync("x", WriteFile("x.txt", "payload"));
        var dest = _folder.File("out/copy.txt");
        await _project.Artifacts.DownloadAsync("x", dest);
        Assert.That(File.ReadAllText(dest), Is.EqualTo("payload"));
    }

    [Test]
    public async Task RunLogArtifact_RecordsProducerAndOutput()
    {
        await using var run = await _project.Runs.StartAsync("report");
        var a = await run.LogArtifactAsync("summary", "text"u8.ToArray(), "summary.txt");
        var r = await _project.Runs.GetAsync(run.Id);
        Assert.That(a.ProducerRunId, Is.EqualTo(run.Id));
        Assert.That(r.Outputs["summary"], Is.EqualTo(a.Uri));
    }

    [Test]
    public async Task CollectGarbageAsync_AfterProjectDeleted_DeletesOnlyUnreferencedContent()
    {
        var shared = await _project.Artifacts.LogFileAsync("shared", WriteFile("s.txt", "shared content"));
        await using (var other = await TestProjects.OpenAsync(_folder, "other"))
        {
            await other.Artifacts.LogFileAsync("shared-too", WriteFile("s2.txt", "shared content"));
            await other.Artifacts.LogFileAsync("only-other", WriteFile("o.txt", "only in other"));
            var extra = WriteFile("labels.txt", "a,b");
            var options = new MLOps.Registry.ModelFileOptions();
            options.ExtraFiles["labels.txt"] = extra;
            await _project.Models.RegisterFileAsync("m", WriteFile("m.onnx", "onnx bytes"), "onnx", options);
        }
        var young = await _project.Artifacts.CollectGarbageAsync();
        Assert.That(young.FilesDeleted, Is.Zero, "nothing is unreferenced yet");
        Assert.That(await _project.DeleteProjectAsync("other"), Is.True);
        Assert.That((await _project.Artifacts.CollectGarbageAsync()).FilesDeleted, Is.Zero, "the default 1-hour grace period keeps fresh files");
        var result = await _project.Artifacts.CollectGarbageAsync(TimeSpan.Zero);
        Assert.That(result.FilesDeleted, Is.EqualTo(1));
        Assert.That(result.BytesFreed, Is.EqualTo("only in other".Length));
        Assert.That(await _project.Artifacts.VerifyAsync(shared.Uri), Is.True);
        var model = await _project.Models.GetVersionAsync("m", 1);
        await using var labels = _project.Models.OpenExtraFile(model, "labels.txt");
        Assert.That(new StreamReader(labels).ReadToEnd(), Is.EqualTo("a,b"));
    }

    [Test]
    public void StoreUri_ParseAndFormat()
    {
        var u = StoreUri.Parse("store://models/flights/delay-model:production");
        Assert.That((u.Scheme, u.Project, u.Key, u.Reference), Is.EqualTo(("models", "flights", "delay-model", "production")));
        Assert.That(StoreUri.Parse("store://datasets/p/a/b/c").Key, Is.EqualTo("a/b/c"));
        Assert.That(u.ToString(), Is.EqualTo("store://models/flights/delay-model:production"));
        Assert.That(StoreUri.TryParse("http://x", out _), Is.False);
        Assert.Throws<ValidationException>(() => StoreUri.Parse("store://blobs/p/k"));
    }
}
