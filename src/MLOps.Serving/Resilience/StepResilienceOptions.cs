namespace MLOps.Serving.Resilience;

/// <summary>
/// How a <see cref="ResilientStep"/> protects its inner step: a timeout per attempt, retries with exponential backoff and
/// a circuit breaker. Every part is optional; an options instance with nothing set makes a step that only forwards.
/// </summary>
public sealed class StepResilienceOptions
{
    /// <summary>
    /// The longest one attempt of the inner step may run (at least 10 ms); on expiry the attempt is cancelled and, when no
    /// retry succeeds, the step fails with a <see cref="ServingException"/> of status 503. <see langword="null"/> (the
    /// default) for no timeout. The inner step must honor its cancellation token.
    /// </summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// How many times a failed attempt is retried (0, the default, for none). Every exception is retried except a
    /// <see cref="ServingException"/> of a 4xx status (the request is wrong: retrying cannot help), an open circuit and the
    /// cancellation of the request. Meant for remote steps (HTTP calls, feature stores); the inner step must not depend on
    /// changes it made to the event in a failed attempt.
    /// </summary>
    public int MaxRetryAttempts { get; init; }

    /// <summary>The delay before the first retry, doubled for each next one (exponential backoff, no jitter); 200 ms by default. <see cref="TimeSpan.Zero"/> retries at once.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The circuit breaker, or <see langword="null"/> (the default) for none.</summary>
    public StepCircuitBreakerOptions? CircuitBreaker { get; init; }

    /// <summary>The clock of the timeout, the retry delays and the circuit breaker; <see cref="TimeProvider.System"/> by default.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The logger factory of the step's retries (warning, with the failure) and circuit state changes (warning
    /// when the circuit opens, information when it half-opens or closes); none when null.</summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; init; }
}

/// <summary>
/// The circuit breaker of a <see cref="ResilientStep"/>: when the failures among the attempts of the last
/// <see cref="SamplingDuration"/> reach <see cref="FailureRatio"/> (with at least <see cref="MinimumThroughput"/> attempts),
/// the circuit opens for <see cref="BreakDuration"/> and the step answers <see cref="ServingException"/> 503 without calling
/// the inner step; then one trial attempt closes it again on success. 4xx <see cref="ServingException"/>s are not failures.
/// </summary>
public sealed class StepCircuitBreakerOptions
{
    /// <summary>The ratio of failed attempts that opens the circuit, in (0, 1]; 0.5 by default.</summary>
    public double FailureRatio { get; init; } = 0.5;

    /// <summary>The fewest attempts in the sampling window before the circuit may open (at least 2); 10 by default.</summary>
    public int MinimumThroughput { get; init; } = 10;

    /// <summary>The window over which failures are counted (at least 500 ms); 30 s by default.</summary>
    public TimeSpan SamplingDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the circuit stays open (at least 500 ms); 30 s by default.</summary>
    public TimeSpan BreakDuration { get; init; } = TimeSpan.FromSeconds(30);
}
