using Microsoft.Extensions.Time.Testing;
using MLOps.Serving.Graphs;
using MLOps.Serving.Resilience;

namespace MLOps.Serving.Tests.Resilience;

public class ResilientStepTests
{
    private static readonly StepContext Context = new("graph", "remote");

    [Test]
    public async Task Timeout_AttemptOutlivesTimeout_Answers503()
    {
        var time = new FakeTimeProvider();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var step = ServingStep.Create("remote", async (e, _, ct) =>
        {
            await gate.Task.WaitAsync(ct);
            return e;
        }).WithResilience(new StepResilienceOptions { Timeout = TimeSpan.FromSeconds(2), TimeProvider = time });

        var running = step.ProcessAsync(new ServingEvent("x"), Context, CancellationToken.None).AsTask();
        Assert.That(running.IsCompleted, Is.False);
        time.Advance(TimeSpan.FromSeconds(2));

        var error = Assert.ThrowsAsync<ServingException>(() => running);
        Assert.That(error!.StatusCode, Is.EqualTo(503));
        Assert.That(error.Message, Does.Contain("step 'remote' timed out after 2000 ms"));
    }

    [Test]
    public async Task Timeout_AttemptFinishesInTime_PassesTheEventOn()
    {
        var time = new FakeTimeProvider();
        var step = ServingStep.Map("remote", b => $"{b}!").WithResilience(new StepResilienceOptions { Timeout = TimeSpan.FromSeconds(2), TimeProvider = time });

        var result = await step.ProcessAsync(new ServingEvent("x"), Context, CancellationToken.None);

        Assert.That(result.Body, Is.EqualTo("x!"));
    }

    [Test]
    public async Task Retry_FailsTwiceThenSucceeds_AnswersTheThirdAttempt()
    {
        int attempts = 0;
        var step = ServingStep.Create("remote", e =>
        {
            if (Interlocked.Increment(ref attempts) < 3)
                throw new HttpRequestException("connection reset");
            e.Body = "ok";
            return e;
        }).WithResilience(new StepResilienceOptions { MaxRetryAttempts = 3, RetryDelay = TimeSpan.Zero });

        var result = await step.ProcessAsync(new ServingEvent("x"), Context, CancellationToken.None);

        Assert.That(result.Body, Is.EqualTo("ok"));
        Assert.That(attempts, Is.EqualTo(3));
    }

    [Test]
    public async Task Retry_WaitsExponentialBackoffOnTheTimeProvider()
    {
        var time = new FakeTimeProvider();
        int attempts = 0;
        var step = ServingStep.Create("remote", e =>
        {
            if (Interlocked.Increment(ref attempts) < 2)
                throw new HttpRequestException("connection reset");
            return e;
        }).WithResilience(new StepResilienceOptions { MaxRetryAttempts = 2, RetryDelay = TimeSpan.FromSeconds(1), TimeProvider = time });

        var running = step.ProcessAsync(new ServingEvent("x"), Context, CancellationToken.None).AsTask();
        Assert.That(running.IsCompleted, Is.False);
        Assert.That(Volatile.Read(ref attempts), Is.EqualTo(1));
        time.Advance(TimeSpan.FromSeconds(1));
        await running;

        Assert.That(attempts, Is.EqualTo(2));
    }

    [Test]
    public void Retry_ClientError_IsNotRetried()
    {
        int attempts = 0;
        var step = ServingStep.Create("remote", e =>
        {
            Interlocked.Increment(ref attempts);
            throw new ServingException(400, "bad input");
        }).WithResilience(new StepResilienceOptions { MaxRetryAttempts = 3, RetryDelay = TimeSpan.Zero });

        var error = Assert.ThrowsAsync<ServingException>(async () => await step.ProcessAsync(new ServingEvent("x"), Context, CancellationToken.None));

        Assert.That(error!.StatusCode, Is.EqualTo(400));
        Assert.That(attempts, Is.EqualTo(1));
    }

    [Test]
    public void Retry_AllAttemptsFail_ThrowsTheLastException()
    {
        int attempts = 0;
        var step = ServingStep.Create("remote", e =>
        {
            Interlocked.Increment(ref attempts);
            throw new HttpRequestException("down");
        }).WithResilience(new StepResilienceOptions { MaxRetryAttempts = 2, RetryDelay = TimeSpan.Zero });

        Assert.ThrowsAsync<HttpRequestException>(async () => await step.ProcessAsync(new ServingEvent("x"), Context, CancellationToken.None));
        Assert.That(attempts, Is.EqualTo(3));
    }

    [Test]
    public async Task CircuitBreaker_OpensAfterFailures_Answers503ThenClosesAfterBreak()
    {
        var time = new FakeTimeProvider();
        bool failing = true;
        int calls = 0;
        var step = ServingStep.Create("remote", e =>
        {
            Interlocked.Increment(ref calls);
            if (Volatile.Read(ref failing))
                throw new HttpRequestException("down");
            e.Body = "ok";
            return e;
        }).WithResilience(new StepResilienceOptions
        {
            CircuitBreaker = new StepCircuitBreakerOptions { FailureRatio = 0.5, MinimumThroughput = 2, SamplingDuration = TimeSpan.FromSeconds(10), BreakDuration = TimeSpan.FromSeconds(30) },
            TimeProvider = time,
        });

        for (int i = 0; i < 2; i++)
            Assert.ThrowsAsync<HttpRequestException>(async () => await step.ProcessAsync(new ServingEvent("x"), Context, CancellationToken.None));
        var open = Assert.ThrowsAsync<ServingException>(async () => await step.ProcessAsync(new ServingEvent("x"), Context, CancellationToken.None));
        Assert.That(open!.StatusCode, Is.EqualTo(503));
        Assert.That(open.Message, Does.Contain("step 'remote' is unavailable (circuit open)"));
        Assert.That(calls, Is.EqualTo(2));

        failing = false;
        time.Advance(TimeSpan.FromSeconds(30));
        var result = await step.ProcessAsync(new ServingEvent("x"), Context, CancellationToken.None);
        var again = await step.ProcessAsync(new ServingEvent("y"), Context, CancellationToken.None);

        Assert.That(result.Body, Is.EqualTo("ok"));
        Assert.That(again.Body, Is.EqualTo("ok"));
        Assert.That(calls, Is.EqualTo(4));
    }

    [Test]
    public void CircuitBreaker_ClientErrors_DoNotOpenTheCircuit()
    {
        int calls = 0;
        var step = ServingStep.Create("remote", e =>
        {
            Interlocked.Increment(ref calls);
            throw new ServingException(404, "unknown");
        }).WithResilience(new StepResilienceOptions { CircuitBreaker = new StepCircuitBreakerOptions { MinimumThroughput = 2 }, TimeProvider = new FakeTimeProvider() });

        for (int i = 0; i < 5; i++)
            Assert.That(Assert.ThrowsAsync<ServingException>(async () => await step.ProcessAsync(new ServingEvent("x"), Context, CancellationToken.None))!.StatusCode, Is.EqualTo(404));
        Assert.That(calls, Is.EqualTo(5));
    }

    [Test]
    public async Task Lifetime_ForwardsInitializeAndDisposeToTheInnerStep()
    {
        var inner = new LifetimeStep();
        var step = inner.WithResilience(new StepResilienceOptions());

        await step.InitializeAsync(CancellationToken.None);
        await step.DisposeAsync();

        Assert.That(step.Name, Is.EqualTo("life"));
        Assert.That(step.Inner, Is.SameAs(inner));
        Assert.That(inner.Initialized, Is.True);
        Assert.That(inner.Disposed, Is.True);
    }

    [Test]
    public void Options_OutOfRange_ThrowValidationException()
    {
        var step = ServingStep.Map("remote", b => b);

        Assert.Throws<ValidationException>(() => step.WithResilience(new StepResilienceOptions { MaxRetryAttempts = -1 }));
        Assert.Throws<ValidationException>(() => step.WithResilience(new StepResilienceOptions { Timeout = TimeSpan.Zero }));
        Assert.Throws<ValidationException>(() => step.WithResilience(new StepResilienceOptions { CircuitBreaker = new StepCircuitBreakerOptions { FailureRatio = 0 } }));
        Assert.Throws<ValidationException>(() => step.WithResilience(new StepResilienceOptions { CircuitBreaker = new StepCircuitBreakerOptions { MinimumThroughput = 1 } }));
    }

    [Test]
    public void Validate_SeveralProblems_ListsEveryOneNamingPropertyValueAndFix()
    {
        var options = new StepResilienceOptions
        {
            MaxRetryAttempts = -2,
            RetryDelay = TimeSpan.FromSeconds(-1),
            Timeout = TimeSpan.FromDays(2),
            CircuitBreaker = new StepCircuitBreakerOptions { FailureRatio = 1.5, MinimumThroughput = 1, BreakDuration = TimeSpan.FromMilliseconds(100) },
        };

        var errors = options.Validate();

        Assert.That(errors, Has.Count.EqualTo(6));
        Assert.That(errors, Has.One.Contain("StepResilienceOptions.MaxRetryAttempts is -2").And.Contain("use 0"));
        Assert.That(errors, Has.One.Contain("StepResilienceOptions.RetryDelay is -00:00:01"));
        Assert.That(errors, Has.One.Contain("StepResilienceOptions.Timeout is 2.00:00:00").And.Contain("10 ms to 24 h"));
        Assert.That(errors, Has.One.Contain("StepCircuitBreakerOptions.FailureRatio is 1.5").And.Contain("(0, 1]"));
        Assert.That(errors, Has.One.Contain("StepCircuitBreakerOptions.MinimumThroughput is 1").And.Contain("2 or more"));
        Assert.That(errors, Has.One.Contain("StepCircuitBreakerOptions.BreakDuration is 00:00:00.1000000"));
        var e = Assert.Throws<ValidationException>(() => ServingStep.Map("remote", b => b).WithResilience(options));
        Assert.That(e!.Errors, Is.EqualTo(errors));
        Assert.That(e.Message, Does.Contain("step 'remote'"));
    }

    [Test]
    public void Validate_Defaults_IsEmpty()
        => Assert.That(new StepResilienceOptions { CircuitBreaker = new StepCircuitBreakerOptions() }.Validate(), Is.Empty);

    private sealed class LifetimeStep : IServingStep, IServingStepLifetime, IAsyncDisposable
    {
        public string Name => "life";

        public bool Initialized { get; private set; }

        public bool Disposed { get; private set; }

        public ValueTask<ServingEvent> ProcessAsync(ServingEvent servingEvent, StepContext context, CancellationToken cancellationToken) => ValueTask.FromResult(servingEvent);

        public ValueTask InitializeAsync(CancellationToken cancellationToken)
        {
            Initialized = true;
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}
