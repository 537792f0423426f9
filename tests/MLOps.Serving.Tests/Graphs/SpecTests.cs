using System.Text.Json.Nodes;
using MLOps.Serving.Graphs;

namespace MLOps.Serving.Tests.Graphs;

public class SpecTests
{
    private static IServingStep Id(string name) => ServingStep.Create(name, e => e);

    private static ServingStepRegistry Registry() => new ServingStepRegistry()
        .Register("add", o => ServingStep.Create("add", e => { e.Body = (int)e.Body! + (int)o["n"]!; return e; }))
        .Register("answer", o => ServingStep.Create("answer", e => e.WithBody((string?)o["value"])));

    [Test]
    public void Build_FlowWithManyProblems_ListsEveryProblem()
    {
        var ex = Assert.Throws<ValidationException>(() => ServingGraph.Flow("bad")
            .To("a", Id("a"))
            .To("a", Id("a2"))
            .From("missing").To("b", Id("b"))
            .From("a").To("c", Id("c"))
            .Build());

        Assert.That(ex!.Errors, Has.Count.EqualTo(3));
        Assert.That(ex.Errors, Has.Some.Contains("'a' is used 2 times"));
        Assert.That(ex.Errors, Has.Some.Contains("From(\"missing\")"));
        Assert.That(ex.Errors, Has.Some.Contains("no responder"));
        Assert.That(ex.Message, Does.Contain("'bad'"));
    }

    [Test]
    public void Build_EmptyFlow_ReportsNoSteps()
    {
        var ex = Assert.Throws<ValidationException>(() => ServingGraph.Flow("empty").Respond().Build());

        Assert.That(ex!.Errors, Has.Count.EqualTo(2));
        Assert.That(ex.Errors, Has.Some.Contains("no steps"));
        Assert.That(ex.Errors, Has.Some.Contains("Respond() was called before any step"));
    }

    [Test]
    public void Build_RouterWithManyProblems_ListsEveryProblem()
    {
        var ex = Assert.Throws<ValidationException>(() => ServingGraph.Router("bad")
            .Route("a", Id("a"))
            .Shadow("a", Id("shadow"))
            .Ensemble("e", EnsembleMode.Mean, ["a", "zzz"], [1.0])
            .ByWeights(new Dictionary<string, double> { ["a"] = 0, ["nope"] = 0 })
            .Build());

        Assert.That(ex!.Errors, Has.Count.EqualTo(5));
        Assert.That(ex.Errors, Has.Some.Contains("'a' is used 2 times"));
        Assert.That(ex.Errors, Has.Some.Contains("unknown route 'zzz'"));
        Assert.That(ex.Errors, Has.Some.Contains("1 weights for 2 routes"));
        Assert.That(ex.Errors, Has.Some.Contains("unknown route 'nope'"));
        Assert.That(ex.Errors, Has.Some.Contains("more than 0"));
    }

    [Test]
    public void Build_RouterWithoutRoutes_ReportsNoRoutes()
    {
        var ex = Assert.Throws<ValidationException>(() => ServingGraph.Router("").Build());

        Assert.That(ex!.Errors, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task ToMermaid_Flow_RendersStepsBranchesAndResponse()
    {
        await using var graph = ServingGraph.Flow("f")
            .To("pre", Id("pre"))
            .To("model", Id("model")).Respond()
            .From("pre").To("audit", Id("audit"))
            .Build();

        Assert.That(graph.ToMermaid(), Is.EqualTo(
            "flowchart LR\n" +
            "    request([\"request\"])\n" +
            "    s0[\"pre\"]\n" +
            "    s1[\"model\"]\n" +
            "    s2[\"audit\"]\n" +
            "    response([\"response\"])\n" +
            "    request --> s0\n" +
            "    s0 --> s1\n" +
            "    s0 -.-> s2\n" +
            "    s1 --> response\n"));
    }

    [Test]
    public async Task ToMermaid_Router_RendersWeightsEnsemblesAndShadows()
    {
        await using var router = ServingGraph.Router("r")
            .Route("v1", Id("v1")).Route("v2", Id("v2"))
            .Ensemble("both", EnsembleMode.Vote, "v1", "v2")
            .Shadow("next", Id("next"))
            .ByWeights(new Dictionary<string, double> { ["v1"] = 9, ["v2"] = 1 })
            .Build();

        var text = router.ToMermaid();

        Assert.That(text, Does.StartWith("flowchart LR\n"));
        Assert.That(text, Does.Contain("router{\"r\"}"));
        Assert.That(text, Does.Contain("router -->|\"90%\"| r0"));
        Assert.That(text, Does.Contain("router -->|\"10%\"| r1"));
        Assert.That(text, Does.Contain("e0[[\"both (vote)\"]]"));
        Assert.That(text, Does.Contain("e0 --> r1"));
        Assert.That(text, Does.Contain("router -.->|\"copy\"| sh0"));
    }

    [Test]
    public async Task FromJson_FlowRoundTrip_SameTopologyAndBehaviour()
    {
        var registry = Registry();
        await using var graph = ServingGraph.Flow("flow")
            .To("plus1", registry.Create("add", new JsonObject { ["n"] = 1 }))
            .To("plus10", registry.Create("add", new JsonObject { ["n"] = 10 })).Respond()
            .From("plus1").To("audit", registry.Create("add", new JsonObject { ["n"] = 100 }))
            .Build();

        var json = graph.ToJson();
        await using var rebuilt = ServingGraph.FromJson(json, registry);

        Assert.That(rebuilt, Is.TypeOf<ServingFlow>());
        Assert.That(rebuilt.ToJson(), Is.EqualTo(json));
        Assert.That(rebuilt.ToMermaid(), Is.EqualTo(graph.ToMermaid()));
        Assert.That((await rebuilt.InvokeAsync(new ServingEvent(0))).Body, Is.EqualTo(11));
    }

    [Test]
    public async Task FromJson_RouterRoundTrip_SameTopologyAndBehaviour()
    {
        var registry = Registry();
        await using var router = ServingGraph.Router("router")
            .Route("a", registry.Create("answer", new JsonObject { ["value"] = "cat" }))
            .Route("b", registry.Create("answer", new JsonObject { ["value"] = "dog" }))
            .Route("c", registry.Create("answer", new JsonObject { ["value"] = "dog" }))
            .Ensemble("vote", EnsembleMode.Vote, ["a", "b", "c"], [3.0, 1.0, 1.0])
            .Shadow("shadow", registry.Create("answer"))
            .ByWeights(new Dictionary<string, double> { ["a"] = 1, ["vote"] = 3 }, seed: 11)
            .Build();

        var json = router.ToJson();
        await using var rebuilt = (ServingRouter)ServingGraph.FromJson(json, registry);

        Assert.That(rebuilt.ToJson(), Is.EqualTo(json));
        Assert.That(rebuilt.ToMermaid(), Is.EqualTo(router.ToMermaid()));
        Assert.That(rebuilt.Weights, Is.EqualTo(router.Weights));
        Assert.That((await rebuilt.InvokeAsync(new ServingEvent(path: "vote"))).Body, Is.EqualTo("cat"));
        for (var i = 0; i < 20; i++)
            Assert.That((await rebuilt.InvokeAsync(new ServingEvent())).Body, Is.EqualTo((await router.InvokeAsync(new ServingEvent())).Body));
    }

    [Test]
    public async Task ToJson_LambdaStepsAndRule_ListsEveryProblem()
    {
        await using var router = ServingGraph.Router("r").Route("a", Id("a")).Route("b", Id("b")).ByRule(_ => "a").Build();

        var ex = Assert.Throws<ValidationException>(() => router.ToJson());

        Assert.That(ex!.Errors, Has.Count.EqualTo(3));
        Assert.That(ex.Errors, Has.Some.Contains("rule"));
        Assert.That(ex.Errors, Has.Some.Contains("'a'").And.Contains("ServingStepRegistry.Create"));
    }

    [Test]
    public void FromJson_UnknownKinds_ListsEveryProblem()
    {
        const string json = """
            { "type": "flow", "name": "f", "steps": [
              { "name": "a", "kind": "nope" },
              { "name": "b", "kind": "also-nope", "after": "a" } ] }
            """;

        var ex = Assert.Throws<ValidationException>(() => ServingGraph.FromJson(json, Registry()));

        Assert.That(ex!.Errors, Has.Count.EqualTo(2));
        Assert.That(ex.Errors[0], Does.Contain("'nope'").And.Contain("add, answer"));
    }

    [Test]
    public void FromJson_NotJsonOrUnknownType_ThrowsValidation()
    {
        Assert.Throws<ValidationException>(() => ServingGraph.FromJson("{ nope", Registry()));
        Assert.Throws<ValidationException>(() => ServingGraph.FromJson("""{ "type": "dag" }""", Registry()));
    }

    [Test]
    public void Create_UnknownKind_ThrowsNamingKnownKinds()
    {
        var ex = Assert.Throws<ValidationException>(() => Registry().Create("model"));

        Assert.That(ex!.Message, Does.Contain("'model'").And.Contain("add, answer"));
    }

    [Test]
    public void Create_RegisteredKind_RemembersKindAndOptions()
    {
        var options = new JsonObject { ["n"] = 2 };
        var step = Registry().Create("add", options);
        options["n"] = 3;

        Assert.That(step.Kind, Is.EqualTo("add"));
        Assert.That((int)step.Options["n"]!, Is.EqualTo(2));
    }

    [Test]
    public void Clone_Event_CopiesDictionariesAndKeepsId()
    {
        var e = new ServingEvent(1, "m", "id");
        e.Headers["X-A"] = "1";
        e.Parameters["p"] = 2;
        e.Items["i"] = 3;

        var copy = e.WithBody(5);
        copy.Items["i"] = 4;

        Assert.That(copy.Id, Is.EqualTo("id"));
        Assert.That(copy.Path, Is.EqualTo("m"));
        Assert.That(copy.Body, Is.EqualTo(5));
        Assert.That(copy.Headers["x-a"], Is.EqualTo("1"));
        Assert.That(copy.Parameters["p"], Is.EqualTo(2));
        Assert.That(e.Items["i"], Is.EqualTo(3));
    }
}
