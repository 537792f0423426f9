using System.Collections.Concurrent;
using MLOps.Serving.Graphs;

namespace MLOps.Serving.Tests.Graphs;

public class FlowTests
{
    private static ServingEvent Add(ServingEvent e, int n)
    {
        e.Body = (int)e.Body! + n;
        return e;
    }

    [Test]
    public async Task InvokeAsync_Chain_RunsStepsInOrder()
    {
        await using var graph = ServingGraph.Flow("chain")
            .To("plus1", e => Add(e, 1))
            .To("times10", e => { e.Body = (int)e.Body! * 10; return e; })
            .To("plus2", e => Add(e, 2))
            .Build();

        var response = await graph.InvokeAsync(new ServingEvent(4, id: "r1"));

        Assert.That(response.Body, Is.EqualTo(52));
        Assert.That(response.Id, Is.EqualTo("r1"));
        Assert.That(graph.Responder, Is.EqualTo("plus2"));
        Assert.That(graph.StepNames, Is.EqualTo(new[] { "plus1", "times10", "plus2" }));
    }

    [Test]
    public async Task InvokeAsync_StepContext_NamesGraphAndStep()
    {
        string? seen = null;
        await using var graph = ServingGraph.Flow("g")
            .To("ctx", (e, context, _) => { seen = context.GraphName + "/" + context.StepName; return ValueTask.FromResult(e); })
            .Build();

        await graph.InvokeAsync(new ServingEvent());

        Assert.That(seen, Is.EqualTo("g/ctx"));
    }

    [Test]
    public async Task InvokeAsync_Branch_CompletesAfterResponse()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var audited = new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var graph = ServingGraph.Flow("branches")
            .To("pre", e => Add(e, 1))
            .To("model", e => Add(e, 100)).Respond()
            .From("pre").To("audit", async (e, _, _) =>
            {
                await release.Task;
                audited.SetResult(e.Body);
                return e;
            })
            .Build();

        var response = await graph.InvokeAsync(new ServingEvent(1));

        Assert.That(response.Body, Is.EqualTo(102));
        Assert.That(audited.Task.IsCompleted, Is.False);
        Assert.That(graph.PendingBackgroundTasks, Is.EqualTo(1));
        release.SetResult();
        await graph.DrainAsync();
        Assert.That(await audited.Task, Is.EqualTo(2));
        Assert.That(graph.PendingBackgroundTasks, Is.Zero);
    }

    [Test]
    public async Task InvokeAsync_BranchGetsCopy_ResponderItemsUnaffected()
    {
        await using var graph = ServingGraph.Flow("copies")
            .To("pre", e => e)
            .To("model", e => e).Respond()
            .From("pre").To("audit", e => { e.Items["audit"] = true; return e; })
            .Build();

        var response = await graph.InvokeAsync(new ServingEvent(1));
        await graph.DrainAsync();

        Assert.That(response.Items.ContainsKey("audit"), Is.False);
    }

    [Test]
    public async Task InvokeAsync_StepsAfterResponder_RunInBackground()
    {
        var logged = new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var graph = ServingGraph.Flow("post")
            .To("model", e => Add(e, 1)).Respond()
            .To("log", e => { logged.SetResult(e.Body); return e; })
            .Build();

        var response = await graph.InvokeAsync(new ServingEvent(1));
        await graph.DrainAsync();

        Assert.That(response.Body, Is.EqualTo(2));
        Assert.That(await logged.Task, Is.EqualTo(2));
    }

    [Test]
    public async Task InvokeAsync_BranchFails_ErrorGoesToHandlerNotCaller()
    {
        var errors = new ConcurrentQueue<(string? Step, string Message)>();
        await using var graph = ServingGraph.Flow("failing-branch")
            .To("pre", e => e)
            .To("model", e => Add(e, 1)).Respond()
            .From("pre").To("audit", ServingStep.Create("audit", (Func<ServingEvent, ServingEvent>)(_ => throw new InvalidOperationException("audit down"))))
            .OnError((e, ex) => { errors.Enqueue(((string?)e.Items[ServingEvent.ErrorStepItem], ex.Message)); return null; })
            .Build();

        var response = await graph.InvokeAsync(new ServingEvent(1));
        await graph.DrainAsync();

        Assert.That(response.Body, Is.EqualTo(2));
        Assert.That(errors, Is.EqualTo(new[] { ((string?)"audit", "audit down") }));
    }

    [Test]
    public async Task DisposeAsync_PendingBranch_WaitsForIt()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = false;
        var graph = ServingGraph.Flow("dispose")
            .To("model", e => e).Respond()
            .To("slow", async (e, _, _) => { await release.Task; done = true; return e; })
            .Build();
        await graph.InvokeAsync(new ServingEvent());

        var disposing = graph.DisposeAsync().AsTask();
        Assert.That(disposing.IsCompleted, Is.False);
        release.SetResult();
        await disposing;

        Assert.That(done, Is.True);
        var ex = Assert.ThrowsAsync<ServingException>(async () => await graph.InvokeAsync(new ServingEvent()));
        Assert.That(ex!.StatusCode, Is.EqualTo(503));
    }

    [Test]
    public async Task InvokeAsync_StepHandler_ReplacesOutputAndContinues()
    {
        await using var graph = ServingGraph.Flow("step-handler")
            .To("enrich", (Func<ServingEvent, ServingEvent>)(_ => throw new TimeoutException("feature store slow")))
            .OnStepError((e, _) => e.WithBody(0))
            .To("model", e => Add(e, 5))
            .Build();

        var response = await graph.InvokeAsync(new ServingEvent(1));

        Assert.That(response.Body, Is.EqualTo(5));
    }

    [Test]
    public async Task InvokeAsync_GraphHandler_TurnsExceptionIntoResponse()
    {
        var modelCalls = 0;
        await using var graph = ServingGraph.Flow("graph-handler")
            .To("pre", (Func<ServingEvent, ServingEvent>)(_ => throw new FormatException("bad input")))
            .To("model", e => { modelCalls++; return e; })
            .OnError((e, ex) => e.WithBody("fallback: " + ex.Message))
            .Build();

        var response = await graph.InvokeAsync(new ServingEvent(1));

        Assert.That(response.Body, Is.EqualTo("fallback: bad input"));
        Assert.That(modelCalls, Is.Zero);
    }

    [Test]
    public async Task InvokeAsync_Unhandled_WrappedAs500NamingStep()
    {
        await using var graph = ServingGraph.Flow("unhandled")
            .To("model", (Func<ServingEvent, ServingEvent>)(_ => throw new InvalidOperationException("boom")))
            .Build();

        var ex = Assert.ThrowsAsync<ServingException>(async () => await graph.InvokeAsync(new ServingEvent()));

        Assert.That(ex!.StatusCode, Is.EqualTo(500));
        Assert.That(ex.Message, Does.Contain("'model'").And.Contain("boom"));
        Assert.That(ex.Message, Does.Not.Contain(" at "));
        Assert.That(ex.InnerException, Is.TypeOf<InvalidOperationException>());
    }

    [Test]
    public async Task InvokeAsync_ServingException_KeptAsIs()
    {
        await using var graph = ServingGraph.Flow("kept")
            .To("validate", (Func<ServingEvent, ServingEvent>)(_ => throw new ServingException(400, "input 'x' is missing")))
            .Build();

        var ex = Assert.ThrowsAsync<ServingException>(async () => await graph.InvokeAsync(new ServingEvent()));

        Assert.That(ex!.StatusCode, Is.EqualTo(400));
        Assert.That(ex.Message, Is.EqualTo("input 'x' is missing"));
    }

    [Test]
    public async Task InvokeAsync_HandlerReturnsNull_ExceptionPropagates()
    {
        var handled = 0;
        await using var graph = ServingGraph.Flow("null-handler")
            .To("model", (Func<ServingEvent, ServingEvent>)(_ => throw new InvalidOperationException("boom")))
            .OnError((_, _) => { handled++; return null; })
            .Build();

        Assert.ThrowsAsync<ServingException>(async () => await graph.InvokeAsync(new ServingEvent()));
        Assert.That(handled, Is.EqualTo(1));
    }

    [Test]
    public async Task InvokeAsync_Cancelled_ThrowsOperationCanceled()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await using var graph = ServingGraph.Flow("cancel")
            .To("model", (e, _, ct) => { ct.ThrowIfCancellationRequested(); return ValueTask.FromResult(e); })
            .Build();
        await graph.InitializeAsync();

        Assert.CatchAsync<OperationCanceledException>(async () => await graph.InvokeAsync(new ServingEvent(), cts.Token));
    }

    [Test]
    public async Task InvokeAsync_16ConcurrentTasks_AllCorrectAndInitializedOnce()
    {
        var step = new CountingStep("model");
        await using var graph = ServingGraph.Flow("concurrent").To("pre", e => Add(e, 1)).To(step).Build();

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            var sum = 0;
            for (var j = 0; j < 100; j++)
                sum += (int)(await graph.InvokeAsync(new ServingEvent(i))).Body! - (i + 1) * 2;
            return sum;
        })));

        Assert.That(results, Is.All.Zero);
        Assert.That(step.Initializations, Is.EqualTo(1));
        Assert.That(step.Calls, Is.EqualTo(1600));
        Assert.That(graph.IsInitialized, Is.True);
    }

    [Test]
    public async Task InitializeAsync_CalledExplicitly_InitializesOnceAndDisposeDisposes()
    {
        var step = new CountingStep("model");
        var graph = ServingGraph.Flow("lifetime").To("a", step).To("b", step).Build();

        await graph.InitializeAsync();
        await graph.InvokeAsync(new ServingEvent(1));
        await graph.DisposeAsync();

        Assert.That(step.Initializations, Is.EqualTo(1));
        Assert.That(step.Disposals, Is.EqualTo(1));
    }

    internal sealed class CountingStep(string name) : IServingStep, IServingStepLifetime, IAsyncDisposable
    {
        private int _calls;
        private int _initializations;
        private int _disposals;

        public string Name => name;

        public int Calls => _calls;

        public int Initializations => _initializations;

        public int Disposals => _disposals;

        public ValueTask<ServingEvent> ProcessAsync(ServingEvent servingEvent, StepContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            servingEvent.Body = (int)servingEvent.Body! * 2;
            return ValueTask.FromResult(servingEvent);
        }

        public ValueTask InitializeAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _initializations);
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            Interlocked.Increment(ref _disposals);
            return ValueTask.CompletedTask;
        }
    }
}
