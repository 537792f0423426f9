using MLOps.Serving.Graphs;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Tests.Models;

public class ModelStepTests
{
    private static readonly StepContext Context = new("test", "delay-risk");

    private static async Task<DelayRiskModel> Loaded()
    {
        var model = new DelayRiskModel();
        await model.LoadAsync(CancellationToken.None);
        return model;
    }

    [Test]
    public void Name_Model_IsModelName()
    {
        Assert.That(new ModelStep(new DelayRiskModel("cancel-risk")).Name, Is.EqualTo("cancel-risk"));
    }

    [Test]
    public async Task ProcessAsync_InferenceRequestBody_ReturnsResponseWithEchoedId()
    {
        var model = await Loaded();
        var step = new ModelStep(model);

        var output = await step.ProcessAsync(new ServingEvent(DelayRiskModel.Request("req-1", [1000f, 2500f], [9, 18])), Context, CancellationToken.None);

        var response = (InferenceResponse)output.Body!;
        Assert.That(response.Id, Is.EqualTo("req-1"));
        Assert.That(response.ModelName, Is.EqualTo("delay-risk"));
        Assert.That(response.TryGetOutput("risk", out var risk), Is.True);
        Assert.That(risk!.Data.AsSingles().ToArray(), Is.EqualTo(new[] { model.Score(1000f, 9), model.Score(2500f, 18) }));
    }

    [Test]
    public async Task ProcessAsync_ModelDropsId_IdEchoed()
    {
        var model = await Loaded();
        model.DropsId = true;

        var output = await new ModelStep(model).ProcessAsync(new ServingEvent(DelayRiskModel.Request("req-2", [1f], [1])), Context, CancellationToken.None);

        Assert.That(((InferenceResponse)output.Body!).Id, Is.EqualTo("req-2"));
    }

    [Test]
    public async Task ProcessAsync_BodyNotRequest_Throws400NamingType()
    {
        var step = new ModelStep(await Loaded());

        var e = Assert.ThrowsAsync<ServingException>(async () => await step.ProcessAsync(new ServingEvent("text"), Context, CancellationToken.None));

        Assert.That(e!.StatusCode, Is.EqualTo(400));
        Assert.That(e.Message, Does.Contain("String"));
    }

    [Test]
    public async Task ProcessAsync_ModelThrows_Throws500NamingModelWithCause()
    {
        var model = await Loaded();
        var cause = new InvalidOperationException("scorer table is empty");
        model.Failure = cause;

        var e = Assert.ThrowsAsync<ServingException>(async () =>
            await new ModelStep(model).ProcessAsync(new ServingEvent(DelayRiskModel.Request("r", [1f], [1])), Context, CancellationToken.None));

        Assert.That(e!.StatusCode, Is.EqualTo(500));
        Assert.That(e.Message, Is.EqualTo("model 'delay-risk' failed: scorer table is empty"));
        Assert.That(e.InnerException, Is.SameAs(cause));
    }

    [Test]
    public async Task ProcessAsync_ModelThrowsServingException_PassesUnchanged()
    {
        var step = new ModelStep(await Loaded());
        var request = new InferenceRequest { Inputs = [InferenceTensor.Singles("distance", [1f])] };

        var e = Assert.ThrowsAsync<ServingException>(async () => await step.ProcessAsync(new ServingEvent(request), Context, CancellationToken.None));

        Assert.That(e!.StatusCode, Is.EqualTo(400));
        Assert.That(e.Message, Does.Contain("'hour'"));
    }

    [Test]
    public void ProcessAsync_ModelNotLoaded_Throws503()
    {
        var step = new ModelStep(new DelayRiskModel());

        var e = Assert.ThrowsAsync<ServingException>(async () =>
            await step.ProcessAsync(new ServingEvent(DelayRiskModel.Request("r", [1f], [1])), Context, CancellationToken.None));

        Assert.That(e!.StatusCode, Is.EqualTo(503));
    }

    [Test]
    public async Task InitializeAsync_GraphWithModelStep_LoadsModelOnce()
    {
        var model = new DelayRiskModel();
        await using var graph = ServingGraph.Flow("score").To(new ModelStep(model)).Build();

        await graph.InitializeAsync();
        await graph.InitializeAsync();
        var output = await graph.InvokeAsync(new ServingEvent(DelayRiskModel.Request("r", [1f], [1])));

        Assert.That(model.IsReady, Is.True);
        Assert.That(model.Loads, Is.EqualTo(1));
        Assert.That(output.Body, Is.InstanceOf<InferenceResponse>());
    }

    [Test]
    public void Constructor_NullModel_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => _ = new ModelStep(null!));
    }
}
