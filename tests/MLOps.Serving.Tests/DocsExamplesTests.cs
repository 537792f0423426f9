using System.Text;
using MLOps.Serving.Graphs;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Tests;

/// <summary>The examples of docs/serving.md, compiled and run.</summary>
public class DocsExamplesTests
{
    private sealed class RiskStep : IServingStep
    {
        public string Name => "model";

        public ValueTask<ServingEvent> ProcessAsync(ServingEvent e, StepContext context, CancellationToken cancellationToken)
            => ValueTask.FromResult(e.WithBody(((double[])e.Body!).Select(d => d / 3000).ToArray()));
    }

    private sealed class AuditStep(List<object?> seen) : IServingStep
    {
        public string Name => "audit";

        public ValueTask<ServingEvent> ProcessAsync(ServingEvent e, StepContext context, CancellationToken cancellationToken)
        {
            lock (seen) seen.Add(e.Body);
            return ValueTask.FromResult(e);
        }
    }

    private static double[] Parse(object? body) => ((string)body!).Split(',').Select(double.Parse).ToArray();

    private static double[] Round(object? body) => ((double[])body!).Select(d => Math.Round(d, 2)).ToArray();

    [Test]
    public async Task ServingGuide_FlowExample_Runs()
    {
        var audited = new List<object?>();
        var request = "1750,256";
        await using var graph = ServingGraph.Flow("delays")
            .To("parse", e => e.WithBody(Parse(e.Body)))
            .To("model", new RiskStep())
            .Respond()
            .To("post", e => e.WithBody(Round(e.Body)))
            .From("parse").To("audit", new AuditStep(audited))
            .OnError((e, ex) => null)
            .Build();

        ServingEvent answer = await graph.InvokeAsync(new ServingEvent(body: request));
        await graph.DrainAsync();

        Assert.That((double[])answer.Body!, Is.EqualTo(new[] { 1750 / 3000.0, 256 / 3000.0 }));
        Assert.That(audited, Has.Count.EqualTo(1));
        Assert.That(graph.ToMermaid(), Does.StartWith("flowchart LR"));
    }

    [Test]
    public async Task ServingGuide_RouterExample_Runs()
    {
        var modelV1 = ServingStep.Create("delay-v1", e => e.WithBody(1.0));
        var modelV2 = ServingStep.Create("delay-v2", e => e.WithBody(3.0));
        var challenger = ServingStep.Create("challenger", e => e.WithBody(0.0));
        await using var router = ServingGraph.Router("models")
            .Route("delay-v1", modelV1)
            .Route("delay-v2", modelV2)
            .ByWeights(new Dictionary<string, double> { ["delay-v1"] = 90, ["delay-v2"] = 10 }, seed: 7)
            .Shadow("challenger", challenger)
            .Ensemble("delay-mean", EnsembleMode.Mean, "delay-v1", "delay-v2")
            .Build();

        ((ServingRouter)router).SetWeights(new Dictionary<string, double> { ["delay-v1"] = 50, ["delay-v2"] = 50 });
        var mean = await router.InvokeAsync(new ServingEvent(body: null, path: "delay-mean"));
        Assert.That(Convert.ToDouble(mean.Body, System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(2.0));
    }

    [Test]
    public void ServingGuide_ProtocolExample_Runs()
    {
        var utf8Body = Encoding.UTF8.GetBytes("""{"id":"42","inputs":[{"name":"distance","shape":[2],"datatype":"FP32","data":[1750,256]}]}""");
        InferenceRequest request = InferenceJson.ParseRequest(utf8Body);
        ReadOnlySpan<float> distance = request.Inputs[0].Data.AsSingles();
        var scores = distance.ToArray().Select(d => d / 3000f).ToArray();
        var response = InferenceResponse.For(request, "delay-model", "3",
            [InferenceTensor.Singles("probability", scores, distance.Length)]);
        byte[] json = InferenceJson.SerializeResponse(response);

        var text = Encoding.UTF8.GetString(json);
        Assert.That(text, Does.Contain("\"model_name\":\"delay-model\"").And.Contain("\"id\":\"42\""));
        var bad = Assert.Throws<ServingException>(() => InferenceJson.ParseRequest(Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[1,2]}]}""")))!;
        Assert.That(bad.StatusCode, Is.EqualTo(400));
    }
}
