using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MLOps.Serving.Graphs;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace MLOps.Serving.Resilience;

/// <summary>
/// A step wrapping another with a Polly resilience pipeline built from <see cref="StepResilienceOptions"/>: retries with
/// exponential backoff around a circuit breaker around a per-attempt timeout. A timeout answers
/// <see cref="ServingException"/> 503 "step '…' timed out after …", an open circuit 503 "step '…' is unavailable (circuit
/// open)"; the HTTP host adds <c>Retry-After</c> to 503s. Initialization and disposal are forwarded to the inner step.
/// Thread-safe when the inner step is. Create it with <see cref="ServingStepResilienceExtensions.WithResilience"/>.
/// </summary>
public sealed class ResilientStep : IServingStep, IServingStepLifetime, IAsyncDisposable
{
    private readonly ResiliencePipeline _pipeline;
    private readonly TimeSpan? _timeout;

    /// <summary>Wraps a step.</summary>
    /// <param name="inner">The step to protect.</param>
    /// <param name="options">The timeout, retries and circuit breaker.</param>
    /// <exception cref="ValidationException">An option is out of range; the exception lists every problem of <see cref="StepResilienceOptions.Validate"/>.</exception>
    public ResilientStep(IServingStep inner, StepResilienceOptions options)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
            throw new ValidationException($"The StepResilienceOptions of the step '{inner.Name}' are invalid", errors);
        Inner = inner;
        Options = options;
        _timeout = options.Timeout;
        _pipeline = Build(inner.Name, options);
    }

    /// <summary>The protected step.</summary>
    public IServingStep Inner { get; }

    /// <summary>The options the pipeline was built from.</summary>
    public StepResilienceOptions Options { get; }

    /// <summary>The inner step's name.</summary>
    public string Name => Inner.Name;

    /// <summary>Runs the inner step through the pipeline.</summary>
    /// <param name="servingEvent">The event.</param>
    /// <param name="context">The graph and the name the step is registered under.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The inner step's event.</returns>
    /// <exception cref="ServingException">Status 503: the last attempt timed out, or the circuit is open; or the inner step's own exception.</exception>
    public async ValueTask<ServingEvent> ProcessAsync(ServingEvent servingEvent, StepContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            return await _pipeline.ExecuteAsync(
                static (state, token) => state.Inner.ProcessAsync(state.servingEvent, state.context, token),
                (Inner, servingEvent, context), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException e)
        {
            throw new ServingException(503, $"step '{context.StepName}' timed out after {_timeout?.TotalMilliseconds ?? e.Timeout.TotalMilliseconds} ms (StepResilienceOptions.Timeout).", e);
        }
        catch (BrokenCircuitException e)
        {
            var retry = e.RetryAfter is { } after ? $"; retry in {after.TotalSeconds:0.###} s" : "";
            throw new ServingException(503, $"step '{context.StepName}' is unavailable (circuit open){retry}.", e);
        }
    }

    /// <summary>Initializes the inner step when it implements <see cref="IServingStepLifetime"/>.</summary>
    /// <param name="cancellationToken">Cancels the initialization.</param>
    /// <returns>A task that completes when the inner step is ready.</returns>
    public ValueTask InitializeAsync(CancellationToken cancellationToken)
        => Inner is IServingStepLifetime lifetime ? lifetime.InitializeAsync(cancellationToken) : ValueTask.CompletedTask;

    /// <summary>Disposes the inner step when it is <see cref="IAsyncDisposable"/> or <see cref="IDisposable"/>.</summary>
    /// <returns>A task that completes when the inner step is disposed.</returns>
    public ValueTask DisposeAsync()
    {
        if (Inner is IAsyncDisposable asyncDisposable)
            return asyncDisposable.DisposeAsync();
        (Inner as IDisposable)?.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public override string ToString() => $"resilient {Inner}";

    /// <summary>The category of the step's log messages.</summary>
    internal const string LoggerCategory = "MLOps.Serving.ResilientStep";

    private static bool IsFailure(Exception e) => e switch
    {
        ServingException { StatusCode: >= 400 and < 500 } => false,
        OperationCanceledException => false,
        BrokenCircuitException => false,
        _ => true,
    };

    private static ResiliencePipeline Build(string name, StepResilienceOptions options)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = options.TimeProvider, Name = name };
        var logger = options.LoggerFactory?.CreateLogger(LoggerCategory) ?? NullLogger.Instance;
        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetryAttempts,
                Delay = options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = false,
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsFailure),
                OnRetry = args =>
                {
                    ServingLog.StepRetry(logger, args.Outcome.Exception, name, args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds);
                    return default;
                },
            });
        }
        if (options.CircuitBreaker is { } breaker)
        {
            builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = breaker.FailureRatio,
                MinimumThroughput = breaker.MinimumThroughput,
                SamplingDuration = breaker.SamplingDuration,
                BreakDuration = breaker.BreakDuration,
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsFailure),
                OnOpened = args =>
                {
                    ServingLog.CircuitOpened(logger, args.Outcome.Exception, name, args.BreakDuration.TotalMilliseconds);
                    return default;
                },
                OnHalfOpened = _ =>
                {
                    ServingLog.CircuitStateChanged(logger, name, "half-open");
                    return default;
                },
                OnClosed = _ =>
                {
                    ServingLog.CircuitStateChanged(logger, name, "closed");
                    return default;
                },
            });
        }
        if (options.Timeout is { } timeout)
        {
            builder.AddTimeout(timeout);
        }
        return builder.Build();
    }
}

/// <summary>Wraps steps in a <see cref="ResilientStep"/>.</summary>
public static class ServingStepResilienceExtensions
{
    /// <summary>Wraps the step in a <see cref="ResilientStep"/> with a timeout, retries and a circuit breaker.</summary>
    /// <param name="step">The step to protect.</param>
    /// <param name="options">The timeout, retries and circuit breaker.</param>
    /// <returns>The resilient step, named as <paramref name="step"/>.</returns>
    public static ResilientStep WithResilience(this IServingStep step, StepResilienceOptions options) => new(step, options);
}
