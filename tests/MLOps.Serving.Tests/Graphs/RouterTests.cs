using System.Collections.Concurrent;
using MLOps.Serving.Graphs;

namespace MLOps.Serving.Tests.Graphs;

public class RouterTests
{
    private static IServingStep Answer(string name, object? body) => ServingStep.Create(name, e => e.WithBody(body));

    private static ServingRouter Canary(int seed) => ServingGraph.Router("canary")
        .Route(Answer("v1", "v1"))
        .Route(Answer("v2", "v2"))
        .ByWeights(new Dictionary<string, double> { ["v1"] = 90, ["v2"] = 10 }, seed)
        .Build();

    private static async Task<double> ShareOfV2(ServingRouter router, int events)
    {
        var v2 = 0;
        for (var i = 0; i < events; i++)
        {
            if ((string?)(await router.InvokeAsync(new ServingEvent())).Body == "v2")
                v2++;
        }
        return (double)v2 / events;
    }

    [Test]
    public async Task InvokeAsync_ByPath_RoutesToNamedModel()
    {
        await using var router = ServingGraph.Router("models").Route(Answer("model-a", "A")).Route(Answer("model-b", "B")).Build();

        Assert.That((await router.InvokeAsync(new ServingEvent(path: "model-b"))).Body, Is.EqualTo("B"));
        Assert.That((await router.InvokeAsync(new ServingEvent(path: "model-a"))).Body, Is.EqualTo("A"));
        Assert.That(router.Mode, Is.EqualTo(RoutingMode.Path));
    }

    [Test]
    public async Task InvokeAsync_UnknownPath_Throws404ListingRoutes()
    {
        await using var router = ServingGraph.Router("models").Route(Answer("model-a", "A")).Route(Answer("model-b", "B")).Build();

        var ex = Assert.ThrowsAsync<ServingException>(async () => await router.InvokeAsync(new ServingEvent(path: "model-c")));

        Assert.That(ex!.StatusCode, Is.EqualTo(404));
        Assert.That(ex.Message, Does.Contain("model-c").And.Contain("model-a, model-b"));
    }

    [Test]
    public async Task InvokeAsync_ByRule_RoutesByUserRule()
    {
        await using var router = ServingGraph.Router("rule")
            .Route(Answer("small", "small"))
            .Route(Answer("large", "large"))
            .ByRule(e => (int)e.Body! > 100 ? "large" : "small")
            .Build();

        Assert.That((await router.InvokeAsync(new ServingEvent(5))).Body, Is.EqualTo("small"));
        Assert.That((await router.InvokeAsync(new ServingEvent(500))).Body, Is.EqualTo("large"));
        Assert.That(router.Mode, Is.EqualTo(RoutingMode.Rule));
    }

    [Test]
    public async Task InvokeAsync_ByWeights_DistributionWithinFewPercent()
    {
        await using var router = Canary(seed: 42);

        var share = await ShareOfV2(router, 10_000);

        Assert.That(share, Is.EqualTo(0.10).Within(0.02));
    }

    [Test]
    public async Task InvokeAsync_SameSeed_SameSequence()
    {
        await using var a = Canary(seed: 7);
        await using var b = Canary(seed: 7);

        var first = new List<object?>();
        var second = new List<object?>();
        for (var i = 0; i < 200; i++)
        {
            first.Add((await a.InvokeAsync(new ServingEvent())).Body);
            second.Add((await b.InvokeAsync(new ServingEvent())).Body);
        }

        Assert.That(second, Is.EqualTo(first));
    }

    [Test]
    public async Task InvokeAsync_ByWeightsWithPath_GoesToNamedRoute()
    {
        await using var router = Canary(seed: 1);

        for (var i = 0; i < 50; i++)
            Assert.That((await router.InvokeAsync(new ServingEvent(path: "v2"))).Body, Is.EqualTo("v2"));
    }

    [Test]
    public async Task SetWeights_AtRunTime_ChangesDistribution()
    {
        await using var router = Canary(seed: 3);
        Assert.That(await ShareOfV2(router, 2_000), Is.EqualTo(0.10).Within(0.03));

        router.SetWeights(new Dictionary<string, double> { ["v1"] = 50, ["v2"] = 50 });
        Assert.That(await ShareOfV2(router, 10_000), Is.EqualTo(0.50).Within(0.02));

        router.SetWeights(new Dictionary<string, double> { ["v2"] = 1 });
        Assert.That(await ShareOfV2(router, 1_000), Is.EqualTo(1.0));
        Assert.That(router.Weights, Is.EqualTo(new Dictionary<string, double> { ["v2"] = 1 }));
    }

    [Test]
    public async Task SetWeights_ConcurrentWithInvoke_NeverFails()
    {
        await using var router = Canary(seed: 5);

        var invokers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 500; i++)
                Assert.That((await router.InvokeAsync(new ServingEvent())).Body, Is.EqualTo("v1").Or.EqualTo("v2"));
        }));
        var setter = Task.Run(() =>
        {
            for (var i = 0; i < 500; i++)
                router.SetWeights(new Dictionary<string, double> { ["v1"] = i % 2, ["v2"] = 1 });
        });

        await Task.WhenAll(invokers.Append(setter));
    }

    [Test]
    public async Task SetWeights_Invalid_ThrowsListingProblems()
    {
        await using var router = Canary(seed: 1);

        var ex = Assert.Throws<ValidationException>(() => router.SetWeights(new Dictionary<string, double> { ["v3"] = 1, ["v1"] = 0 }));
        Assert.That(ex!.Errors, Has.Count.EqualTo(1));
        Assert.That(ex.Errors[0], Does.Contain("v3"));
        var zero = Assert.Throws<ValidationException>(() => router.SetWeights(new Dictionary<string, double> { ["v1"] = 0, ["v2"] = 0 }));
        Assert.That(zero!.Errors[0], Does.Contain("more than 0"));
    }

    [Test]
    public async Task SetWeights_PathRouter_ThrowsInvalidState()
    {
        await using var router = ServingGraph.Router("models").Route(Answer("a", 1)).Build();

        Assert.Throws<InvalidStateException>(() => router.SetWeights(new Dictionary<string, double> { ["a"] = 1 }));
    }

    [Test]
    public async Task InvokeAsync_Shadow_ReceivesCopiesWithoutAffectingResponse()
    {
        var seen = new ConcurrentQueue<(string Id, object? Body)>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var router = ServingGraph.Router("shadowed")
            .Route(Answer("prod", "prod"))
            .Shadow("candidate", ServingStep.Create("candidate", async (e, _, _) =>
            {
                await release.Task;
                seen.Enqueue((e.Id, e.Body));
                e.Items["shadow"] = true;
                return e.WithBody("candidate");
            }))
            .Build();

        var first = await router.InvokeAsync(new ServingEvent(1, "prod", "r1"));
        var second = await router.InvokeAsync(new ServingEvent(2, "prod", "r2"));
        Assert.That(seen, Is.Empty);
        release.SetResult();
        await router.DrainAsync();

        Assert.That(first.Body, Is.EqualTo("prod"));
        Assert.That(second.Body, Is.EqualTo("prod"));
        Assert.That(first.Items.ContainsKey("shadow"), Is.False);
        Assert.That(seen.OrderBy(s => s.Id), Is.EqualTo(new[] { ("r1", (object?)1), ("r2", (object?)2) }));
    }

    [Test]
    public async Task InvokeAsync_ShadowFails_HandlerGetsErrorAndResponseUnaffected()
    {
        var errors = new ConcurrentQueue<string>();
        await using var router = ServingGraph.Router("shadow-error")
            .Route(Answer("prod", "prod"))
            .Shadow("candidate", ServingStep.Create("candidate", (Func<ServingEvent, ServingEvent>)(_ => throw new InvalidOperationException("candidate broke"))))
            .OnError((e, ex) => { errors.Enqueue($"{e.Items[ServingEvent.ErrorStepItem]}: {ex.Message}"); return null; })
            .Build();

        var response = await router.InvokeAsync(new ServingEvent(path: "prod"));
        await router.DrainAsync();

        Assert.That(response.Body, Is.EqualTo("prod"));
        Assert.That(errors, Is.EqualTo(new[] { "candidate: candidate broke" }));
    }

    [Test]
    public async Task InvokeAsync_VoteEnsemble_MajorityWins()
    {
        await using var router = ServingGraph.Router("vote")
            .Route(Answer("a", "cat")).Route(Answer("b", "dog")).Route(Answer("c", "dog"))
            .Ensemble("ensemble", EnsembleMode.Vote, "a", "b", "c")
            .Build();

        Assert.That((await router.InvokeAsync(new ServingEvent(path: "ensemble"))).Body, Is.EqualTo("dog"));
    }

    [Test]
    public async Task InvokeAsync_VoteEnsembleTie_FirstRouteWins()
    {
        await using var router = ServingGraph.Router("tie")
            .Route(Answer("a", "cat")).Route(Answer("b", "dog")).Route(Answer("c", "dog")).Route(Answer("d", "cat"))
            .Ensemble("ensemble", EnsembleMode.Vote, "a", "b", "c", "d")
            .Ensemble("reversed", EnsembleMode.Vote, "b", "a", "d", "c")
            .Build();

        Assert.That((await router.InvokeAsync(new ServingEvent(path: "ensemble"))).Body, Is.EqualTo("cat"));
        Assert.That((await router.InvokeAsync(new ServingEvent(path: "reversed"))).Body, Is.EqualTo("dog"));
    }

    [Test]
    public async Task InvokeAsync_WeightedVote_WeightsDecide()
    {
        await using var router = ServingGraph.Router("weighted-vote")
            .Route(Answer("a", 1)).Route(Answer("b", 0)).Route(Answer("c", 0))
            .Ensemble("ensemble", EnsembleMode.Vote, ["a", "b", "c"], [3.0, 1.0, 1.0])
            .Build();

        Assert.That((await router.InvokeAsync(new ServingEvent(path: "ensemble"))).Body, Is.EqualTo(1));
    }

    [Test]
    public async Task InvokeAsync_WeightedMean_CombinesNumbers()
    {
        await using var router = ServingGraph.Router("mean")
            .Route(Answer("a", 1.0)).Route(Answer("b", 5f)).Route(Answer("c", 10))
            .Ensemble("plain", EnsembleMode.Mean, "a", "b")
            .Ensemble("weighted", EnsembleMode.Mean, ["a", "b", "c"], [2.0, 1.0, 1.0])
            .Build();

        Assert.That((await router.InvokeAsync(new ServingEvent(path: "plain"))).Body, Is.EqualTo(3.0));
        Assert.That((await router.InvokeAsync(new ServingEvent(path: "weighted"))).Body, Is.EqualTo((2.0 + 5 + 10) / 4));
    }

    [Test]
    public async Task InvokeAsync_MeanOfArrays_ElementWise()
    {
        await using var router = ServingGraph.Router("arrays")
            .Route(Answer("a", new[] { 1.0, 2.0 })).Route(Answer("b", new[] { 3f, 6f }))
            .Ensemble("ensemble", EnsembleMode.Mean, "a", "b")
            .Build();

        Assert.That((await router.InvokeAsync(new ServingEvent(path: "ensemble"))).Body, Is.EqualTo(new[] { 2.0, 4.0 }));
    }

    [Test]
    public async Task InvokeAsync_MeanOfLabels_Throws500()
    {
        await using var router = ServingGraph.Router("bad-mean")
            .Route(Answer("a", 1.0)).Route(Answer("b", "dog"))
            .Ensemble("ensemble", EnsembleMode.Mean, "a", "b")
            .Build();

        var ex = Assert.ThrowsAsync<ServingException>(async () => await router.InvokeAsync(new ServingEvent(path: "ensemble")));
        Assert.That(ex!.StatusCode, Is.EqualTo(500));
        Assert.That(ex.Message, Does.Contain("'b'"));
    }

    [Test]
    public async Task InvokeAsync_RouteFailsWithHandler_HandlerResponds()
    {
        await using var router = ServingGraph.Router("fallback")
            .Route("model", (Func<ServingEvent, ServingEvent>)(_ => throw new InvalidOperationException("down")))
            .OnError((e, _) => e.WithBody("default"))
            .Build();

        Assert.That((await router.InvokeAsync(new ServingEvent(path: "model"))).Body, Is.EqualTo("default"));
    }
}
