using Apache.Arrow;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.GroundTruth;
using MLOps.Monitoring.Performance;
using MLOps.Monitoring.Tests.Capture;

namespace MLOps.Monitoring.Tests.Performance;

[Parallelizable(ParallelScope.All)]
public sealed class PerformanceApplicationTests
{
    private const int Requests = 20, RowsPerRequest = 10;

    [Test]
    public async Task AnalyzeAsync_ServedFlightsWithTheirDelayedLabels_MetricsEqualTheHandCount()
    {
        await using var served = await ServedFlights.StartAsync();
        var endpointId = await ServeAsync(served, Requests);
        await LogDelayedAsync(served, endpointId, Enumerable.Range(0, Requests));
        var window = await Windows.ReadAsync(served.Project, endpointId);

        var output = await new PerformanceApplication().AnalyzeAsync(window, CancellationToken.None);

        // By hand, from the same captured rows and the real labels.
        var rows = await served.ReadRowsAsync(endpointId);
        var pairs = rows.Select(r => (Predicted: (bool)r["output.PredictedLabel"]!, Probability: (double)(float)r["output.Probability"]!, Actual: Delayed((string)r["request_id"]!, (int)r["row"]!))).ToList();
        Assert.That(pairs, Has.Count.EqualTo(Requests * RowsPerRequest));
        double accuracy = (double)pairs.Count(p => p.Predicted == p.Actual) / pairs.Count;
        double goodPairs = 0, allPairs = 0;
        foreach (var positive in pairs.Where(p => p.Actual))
            foreach (var negative in pairs.Where(p => !p.Actual))
            {
                allPairs++;
                goodPairs += positive.Probability > negative.Probability ? 1 : positive.Probability == negative.Probability ? 0.5 : 0;
            }
        var results = output.Results.ToDictionary(r => r.Name);
        Assert.That(results.Keys, Is.EqualTo(new[] { "accuracy", "precision", "recall", "f1", "roc_auc", "log_loss" }));
        Assert.That(results["accuracy"].Value, Is.EqualTo(accuracy).Within(1e-12));
        Assert.That(accuracy, Is.GreaterThan(0.5).And.LessThan(1), "a real model on real flights is neither useless nor perfect");
        AssertPrecisionRecallF1(results, pairs.Select(p => (p.Predicted, p.Actual)), positive: true);
        Assert.That(results["roc_auc"].Value, Is.EqualTo(goodPairs / allPairs).Within(1e-12));
        Assert.That(results["roc_auc"].Value, Is.GreaterThan(0.5), "the model ranks delayed flights higher");
        Assert.That(results["log_loss"].Value, Is.EqualTo(PerformanceMetrics.LogLoss(pairs.Select(p => p.Actual).ToArray(), pairs.Select(p => p.Probability).ToArray())));
        Assert.That(output.Results.Select(r => (r.Kind, r.Status)), Is.All.EqualTo((ResultKind.ModelPerformance, ResultStatus.Irrelevant)));
        Assert.That(results["accuracy"].Statistics["labelled_rows"], Is.EqualTo(200));
        Assert.That(output.Metrics["labelled_rows"], Is.EqualTo(200));
        Assert.That(output.Metrics["unlabelled_rows"], Is.Zero);
        Assert.That(output.Metrics["captured_rows"], Is.EqualTo(200));
        Assert.That(output.Metrics["label_coverage"], Is.EqualTo(1));
        Assert.That(output.Metrics["true_negatives"], Is.EqualTo(pairs.Count(p => !p.Predicted && !p.Actual)));

        // This small model never predicts "delayed" (its probabilities stay below 0.5), so precision and recall of "true" are 0
        // (scikit-learn's zero_division); with "on time" as the positive class they are not trivial.
        var onTime = await new PerformanceApplication(new PerformanceOptions { PositiveClass = "false", ScoreColumn = null, ProbabilityColumn = null })
            .AnalyzeAsync(window, CancellationToken.None);
        var onTimeResults = onTime.Results.ToDictionary(r => r.Name);
        Assert.That(onTimeResults.Keys, Is.EqualTo(new[] { "accuracy", "precision", "recall", "f1" }));
        AssertPrecisionRecallF1(onTimeResults, pairs.Select(p => (p.Predicted, p.Actual)), positive: false);
        Assert.That(onTimeResults["precision"].Value, Is.GreaterThan(0.5).And.LessThan(1));
    }

    [Test]
    public async Task AnalyzeAsync_FewerLabelsThanTheMinimum_EveryResultIsInsufficientData()
    {
        await using var served = await ServedFlights.StartAsync();
        var endpointId = await ServeAsync(served, Requests);
        await LogDelayedAsync(served, endpointId, Enumerable.Range(0, 3));
        var window = await Windows.ReadAsync(served.Project, endpointId);

        var output = await new PerformanceApplication(new PerformanceOptions { MinimumLabelledRows = 31 }).AnalyzeAsync(window, CancellationToken.None);

        Assert.That(output.Results.Select(r => r.Status), Is.All.EqualTo(ResultStatus.InsufficientData));
        Assert.That(output.Results.Select(r => r.Value), Is.All.NaN);
        Assert.That(output.Results[0].Message, Does.Contain("30 labelled rows in the window (labels from ground-truth column 'label'), below the minimum of 31"));
        Assert.That(output.Metrics["labelled_rows"], Is.EqualTo(30));
        Assert.That(output.Metrics["unlabelled_rows"], Is.EqualTo(170));
        Assert.That(output.Metrics["label_coverage"], Is.EqualTo(0.15).Within(1e-12));
    }

    [Test]
    public async Task AnalyzeAsync_LabelLoggedBeforeItsRequestWasCaptured_IsJoined()
    {
        await using var served = await ServedFlights.StartAsync();
        var early = await served.Project.Monitoring.StartCaptureAsync(served.Server);
        var endpointId = early.Endpoints.Single().Id;
        await early.DisposeAsync();
        var stored = await served.Project.Monitoring.LogGroundTruthAsync(endpointId, Enumerable.Repeat("req-0", RowsPerRequest).ToList(),
            Enumerable.Range(0, RowsPerRequest).Select(i => Delayed("req-0", i)).ToList(), Enumerable.Range(0, RowsPerRequest).ToList(),
            new GroundTruthOptions { Unmatched = UnmatchedGroundTruth.Store });
        Assert.That(stored.Unmatched, Has.Count.EqualTo(RowsPerRequest));

        await ServeAsync(served, 2);
        var output = await new PerformanceApplication(new PerformanceOptions { MinimumLabelledRows = 1 })
            .AnalyzeAsync(await Windows.ReadAsync(served.Project, endpointId), CancellationToken.None);

        Assert.That(output.Metrics["labelled_rows"], Is.EqualTo(RowsPerRequest));
        Assert.That(output.Metrics["unlabelled_rows"], Is.EqualTo(RowsPerRequest));
    }

    [Test]
    public async Task AnalyzeAsync_Thresholds_TurnMetricsIntoPossibleOrDetected()
    {
        await using var served = await ServedFlights.StartAsync();
        var endpointId = await ServeAsync(served, Requests);
        await LogDelayedAsync(served, endpointId, Enumerable.Range(0, Requests));
        var window = await Windows.ReadAsync(served.Project, endpointId);
        var options = new PerformanceOptions
        {
            Thresholds = new Dictionary<string, PerformanceThreshold>
            {
                ["accuracy"] = new() { Possible = 0.999, Detected = 0.99 },
                ["recall"] = new() { Possible = 1.01 },
                ["log_loss"] = new() { Detected = 100 },
            },
        };

        var results = (await new PerformanceApplication(options).AnalyzeAsync(window, CancellationToken.None)).Results.ToDictionary(r => r.Name);

        Assert.That(results["accuracy"].Status, Is.EqualTo(ResultStatus.Detected));
        Assert.That(results["accuracy"].Message, Does.Contain("Detected when below 0.99"));
        Assert.That(results["recall"].Status, Is.EqualTo(ResultStatus.Possible));
        Assert.That(results["log_loss"].Status, Is.EqualTo(ResultStatus.None));
        Assert.That(results["f1"].Status, Is.EqualTo(ResultStatus.Irrelevant));
    }

    [Test]
    public async Task AnalyzeAsync_Regressor_MaeAndRmseEqualTheHandComputation_LaterLabelWins()
    {
        await using var flights = await RecordedFlights.StartAsync(rows: 60);
        var monitoring = flights.Project.Monitoring;
        await monitoring.LogGroundTruthAsync(flights.Endpoint.Id, flights.Labels(Enumerable.Range(0, 50), f => f.Delay + 1000));
        await monitoring.LogGroundTruthAsync(flights.Endpoint.Id, flights.Labels(Enumerable.Range(0, 50)));   // corrected: the later labels win
        var options = new PerformanceOptions { Task = PerformanceTask.Regression, MinimumLabelledRows = 50, Thresholds = new Dictionary<string, PerformanceThreshold> { ["mae"] = new() { Detected = 1 } } };

        var output = await new PerformanceApplication(options).AnalyzeAsync(await flights.WindowAsync(), CancellationToken.None);

        var labelled = flights.Recorded.Take(50).Select(r => (Actual: r.Flight.Delay, Predicted: (double)RecordedFlights.Predict(r.Flight))).ToList();
        double mae = labelled.Average(p => Math.Abs(p.Actual - p.Predicted)), rmse = Math.Sqrt(labelled.Average(p => (p.Actual - p.Predicted) * (p.Actual - p.Predicted)));
        var results = output.Results.ToDictionary(r => r.Name);
        Assert.That(results.Keys, Is.EqualTo(new[] { "mae", "rmse", "r2" }));
        Assert.That(results["mae"].Value, Is.EqualTo(mae).Within(1e-9 * mae));
        Assert.That(results["rmse"].Value, Is.EqualTo(rmse).Within(1e-9 * rmse));
        Assert.That(results["mae"].Status, Is.EqualTo(ResultStatus.Detected), "errors of tens of minutes are above 1");
        Assert.That(output.Metrics["labelled_rows"], Is.EqualTo(50));
        Assert.That(output.Metrics["unlabelled_rows"], Is.EqualTo(10));
    }

    [Test]
    public async Task AnalyzeAsync_MulticlassDelayBuckets_MacroMetricsEqualTheMetricsOfTheJoinedRows()
    {
        await using var flights = await RecordedFlights.StartAsync(rows: 1);
        static string Bucket(double delay) => delay < 0 ? "early" : delay <= 15 ? "on-time" : "late";
        static string Guess(int hour) => hour >= 17 ? "late" : hour >= 9 ? "on-time" : "early";
        var chosen = RecordedFlights.Flights.Skip(100).Take(150).ToList();
        var monitoring = flights.Project.Monitoring;
        await monitoring.RegisterEndpointAsync("delay-bucket", "1");
        var inputs = new RecordBatch.Builder().Append("hour", false, c => c.Int32(a => a.AppendRange(chosen.Select(f => f.Hour)))).Build();
        var outputs = new RecordBatch.Builder().Append("PredictedLabel", false, c => c.String(a => a.AppendRange(chosen.Select(f => Guess(f.Hour))))).Build();
        var endpoint = await monitoring.RecordResultsAsync("delay-bucket", "1", inputs, outputs, ServedFlights.T0);
        var keys = new List<(string Id, int Row)>();
        await foreach (var batch in monitoring.ReadCapturedAsync(endpoint.Id))
            for (int i = 0; i < batch.Length; i++)
                keys.Add((((StringArray)batch.Column("request_id")).GetString(i), ((Int32Array)batch.Column("row")).GetValue(i)!.Value));
        await monitoring.LogGroundTruthAsync(endpoint.Id, keys.Select(k => k.Id).ToList(), chosen.Select(f => Bucket(f.Delay)).ToList(), keys.Select(k => k.Row).ToList());

        var output = await new PerformanceApplication(new PerformanceOptions { Task = PerformanceTask.MulticlassClassification })
            .AnalyzeAsync(await Windows.ReadAsync(flights.Project, endpoint.Id), CancellationToken.None);

        var expected = PerformanceMetrics.MulticlassClassification<string>(chosen.Select(f => Bucket(f.Delay)).ToArray(), chosen.Select(f => Guess(f.Hour)).ToArray());
        var results = output.Results.ToDictionary(r => r.Name, r => r.Value);
        Assert.That(results, Is.EqualTo(new Dictionary<string, double>
        {
            ["accuracy"] = expected.Accuracy, ["precision_macro"] = expected.MacroPrecision, ["recall_macro"] = expected.MacroRecall, ["f1_macro"] = expected.MacroF1,
        }));
        Assert.That(expected.Accuracy, Is.EqualTo((double)chosen.Count(f => Bucket(f.Delay) == Guess(f.Hour)) / chosen.Count));
        Assert.That(output.Metrics["class_count"], Is.EqualTo(3));
        Assert.That(output.Metrics["labelled_rows"], Is.EqualTo(150));
    }

    [Test]
    public async Task AnalyzeAsync_SameRowTwiceInOneBatch_LaterRowWins()
    {
        await using var flights = await RecordedFlights.StartAsync(rows: 2);
        var first = flights.Recorded[0];
        await flights.Project.Monitoring.LogGroundTruthAsync(flights.Endpoint.Id, flights.Labels([0, 0], f => f.Delay + 1000));
        await flights.Project.Monitoring.LogGroundTruthAsync(flights.Endpoint.Id, [first.Key.RequestId, first.Key.RequestId], [first.Flight.Delay + 500, first.Flight.Delay], [first.Key.Row, first.Key.Row]);

        var output = await new PerformanceApplication(new PerformanceOptions { Task = PerformanceTask.Regression, MinimumLabelledRows = 1 }).AnalyzeAsync(await flights.WindowAsync(), CancellationToken.None);

        Assert.That(output.Results.Single(r => r.Name == "mae").Value, Is.EqualTo(Math.Abs(first.Flight.Delay - RecordedFlights.Predict(first.Flight))).Within(1e-12));
        Assert.That(output.Metrics["labelled_rows"], Is.EqualTo(1));
    }

    [Test]
    public async Task AnalyzeAsync_LabelsOfAnotherKindThanThePrediction_ThrowsValidationNamingBoth()
    {
        await using var served = await ServedFlights.StartAsync();
        var endpointId = await ServeAsync(served, 1);
        await served.Project.Monitoring.LogGroundTruthAsync(endpointId, ["req-0"], ["late"]);
        var window = await Windows.ReadAsync(served.Project, endpointId);

        var ex = Assert.ThrowsAsync<ValidationException>(() => new PerformanceApplication(new PerformanceOptions { MinimumLabelledRows = 1 }).AnalyzeAsync(window, CancellationToken.None));

        Assert.That(ex!.Message, Does.Contain("'label' holds Text values but the prediction column 'output.PredictedLabel' holds Bool values"));
    }

    [Test]
    public async Task AnalyzeAsync_ColumnMissingFromTheWindow_ThrowsValidationListingTheColumns()
    {
        await using var flights = await RecordedFlights.StartAsync(rows: 5);
        var window = await flights.WindowAsync();

        var ex = Assert.ThrowsAsync<ValidationException>(() => new PerformanceApplication().AnalyzeAsync(window, CancellationToken.None));

        Assert.That(ex!.Message, Does.Contain("column 'output.PredictedLabel' is in none of the captured files").And.Contain("output.Score").And.Contain("PerformanceOptions.PredictionColumn"));
    }

    [Test]
    public void Constructor_BadOptions_ListsEveryProblem()
    {
        var options = new PerformanceOptions
        {
            LabelColumn = " ",
            PredictionColumn = "",
            PositiveClass = "",
            MinimumLabelledRows = 0,
            ScoreColumn = null,
            Thresholds = new Dictionary<string, PerformanceThreshold>
            {
                ["mae"] = new() { Detected = 1 },
                ["accuracy"] = new() { Possible = 0.6, Detected = 0.8 },
                ["f1"] = new(),
                ["precision"] = new() { Detected = double.NaN },
                ["roc_auc"] = new() { Detected = 0.6 },
            },
        };

        var ex = Assert.Throws<ValidationException>(() => new PerformanceApplication(options));

        Assert.That(ex!.Errors, Has.Count.EqualTo(9));
        Assert.That(ex.Message, Does.Contain("LabelColumn is only white space").And.Contain("PredictionColumn is empty").And.Contain("PositiveClass is empty")
            .And.Contain("MinimumLabelledRows is 0").And.Contain("'mae' is not a result of the BinaryClassification task")
            .And.Contain("Possible 0.6 is below Detected 0.8").And.Contain("Thresholds['f1'] sets no level").And.Contain("Thresholds['precision'].Detected is NaN")
            .And.Contain("'roc_auc' is not computed because ScoreColumn is null"));
    }

    [Test]
    public void Application_NameAndDefaults_AreThePerformanceApplication()
    {
        var application = new PerformanceApplication();

        Assert.That(application.Name, Is.EqualTo("performance"));
        Assert.That(application.Options.ResolvedPredictionColumn, Is.EqualTo("output.PredictedLabel"));
        Assert.That(new PerformanceOptions { Task = PerformanceTask.Regression }.ResolvedPredictionColumn, Is.EqualTo("output.Score"));
    }

    private static void AssertPrecisionRecallF1(Dictionary<string, MonitoringResult> results, IEnumerable<(bool Predicted, bool Actual)> pairs, bool positive)
    {
        var list = pairs.ToList();
        double tp = list.Count(p => p.Predicted == positive && p.Actual == positive), fp = list.Count(p => p.Predicted == positive && p.Actual != positive);
        double fn = list.Count(p => p.Predicted != positive && p.Actual == positive);
        Assert.That(results["precision"].Value, Is.EqualTo(tp + fp == 0 ? 0 : tp / (tp + fp)).Within(1e-12));
        Assert.That(results["recall"].Value, Is.EqualTo(tp + fn == 0 ? 0 : tp / (tp + fn)).Within(1e-12));
        Assert.That(results["f1"].Value, Is.EqualTo(2 * tp + fp + fn == 0 ? 0 : 2 * tp / (2 * tp + fp + fn)).Within(1e-12));
    }

    private static bool Delayed(string requestId, int row) => ServedFlights.Rows[3000 + int.Parse(requestId["req-".Length..]) * RowsPerRequest + row].Delayed;

    /// <summary>Serves requests req-0 ... req-{n-1} of 10 held-out flights each, one second apart, and flushes the capture.</summary>
    private static async Task<string> ServeAsync(ServedFlights served, int requests)
    {
        await using var capture = await served.Project.Monitoring.StartCaptureAsync(served.Server);
        for (int r = 0; r < requests; r++)
        {
            await served.Server.InferAsync("delay", ServedFlights.Request($"req-{r}", r * RowsPerRequest, RowsPerRequest));
            served.Time.Advance(TimeSpan.FromSeconds(1));
        }
        await capture.FlushAsync();
        return capture.Endpoints.Single().Id;
    }

    /// <summary>Logs the real <c>delayed</c> label of every row of the given requests.</summary>
    private static Task<GroundTruthLogResult> LogDelayedAsync(ServedFlights served, string endpointId, IEnumerable<int> requests)
    {
        var keys = requests.SelectMany(r => Enumerable.Range(0, RowsPerRequest).Select(row => (Id: $"req-{r}", Row: row))).ToList();
        return served.Project.Monitoring.LogGroundTruthAsync(endpointId, keys.Select(k => k.Id).ToList(), keys.Select(k => Delayed(k.Id, k.Row)).ToList(), keys.Select(k => k.Row).ToList());
    }
}
