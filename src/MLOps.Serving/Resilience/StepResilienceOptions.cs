namespace MLOps.Serving.Resilience;

/// <summary>
/// How a <see cref="ResilientStep"/> protects its inner step: a timeout per attempt, retries with exponential backoff and
/// a circuit breaker. Every part is optional; an options instance with nothing set makes a step that only forwards.
/// </summary>
public sealed class StepResilienceOptions
{
    /// <summary>
    /// The longest one attempt of the inner step may run (10 ms to 24 h); on expiry the attempt is cancelled and, when no
    /// retry succeeds, the step fails with a <see cref="ServingException"/> of status 503. The inner step must honor its
    /// cancellation token. <value>Defaults to <see langword="null"/>: no timeout.</value>
    /// </summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// How many times a failed attempt is retried (0 or more). Every exception is retried except a
    /// <see cref="ServingException"/> of a 4xx status (the request is wrong: retrying cannot help), an open circuit and the
    /// cancellation of the request. Meant for remote steps (HTTP calls, feature stores); the inner step must not depend on
    /// changes it made to the event in a failed attempt. <value>Defaults to 0: no retries.</value>
    /// </summary>
    public int MaxRetryAttempts { get; init; }

    /// <summary>The delay before the first retry, doubled for each next one (exponential backoff, no jitter);
    /// <see cref="TimeSpan.Zero"/> retries at once. <value>Defaults to 200 ms.</value></summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The circuit breaker. <value>Defaults to <see langword="null"/>: no circuit breaker.</value></summary>
    public StepCircuitBreakerOptions? CircuitBreaker { get; init; }

    /// <summary>The clock of the timeout, the retry delays and the circuit breaker. <value>Defaults to <see cref="TimeProvider.System"/>.</value></summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The logger factory of the step's retries (warning, with the failure) and circuit state changes (warning
    /// when the circuit opens, information when it half-opens or closes). <value>Defaults to <see langword="null"/>: no logging.</value></summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Lists every problem of these options (and of <see cref="CircuitBreaker"/>) at once; each names the property,
    /// the value and the fix. <see cref="ResilientStep"/> throws one <see cref="ValidationException"/> listing them.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Timeout is { } timeout && (timeout < TimeSpan.FromMilliseconds(10) || timeout > TimeSpan.FromHours(24)))
            errors.Add($"StepResilienceOptions.Timeout is {timeout}; use 10 ms to 24 h, or null for none (the default).");
        if (MaxRetryAttempts < 0)
            errors.Add($"StepResilienceOptions.MaxRetryAttempts is {MaxRetryAttempts}; use 0 for no retries (the default) or a positive count.");
        if (RetryDelay < TimeSpan.Zero)
            errors.Add($"StepResilienceOptions.RetryDelay is {RetryDelay}; use zero or a positive delay (default 200 ms).");
        if (TimeProvider is null)
            errors.Add("StepResilienceOptions.TimeProvider is null; leave it unset for TimeProvider.System.");
        if (CircuitBreaker is { } breaker)
            errors.AddRange(breaker.Validate());
        return errors;
    }
}

/// <summary>
/// The circuit breaker of a <see cref="ResilientStep"/>: when the failures among the attempts of the last
/// <see cref="SamplingDuration"/> reach <see cref="FailureRatio"/> (with at least <see cref="MinimumThroughput"/> attempts),
/// the circuit opens for <see cref="BreakDuration"/> and the step answers <see cref="ServingException"/> 503 without calling
/// the inner step; then one trial attempt closes it again on success. 4xx <see cref="ServingException"/>s are not failures.
/// </summary>
public sealed class StepCircuitBreakerOptions
{
    /// <summary>The ratio of failed attempts that opens the circuit, in (0, 1]. <value>Defaults to 0.5.</value></summary>
    public double FailureRatio { get; init; } = 0.5;

    /// <summary>The fewest attempts in the sampling window before the circuit may open (at least 2). <value>Defaults to 10.</value></summary>
    public int MinimumThroughput { get; init; } = 10;

    /// <summary>The window over which failures are counted (at least 500 ms). <value>Defaults to 30 s.</value></summary>
    public TimeSpan SamplingDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the circuit stays open (at least 500 ms). <value>Defaults to 30 s.</value></summary>
    public TimeSpan BreakDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Lists every problem of these options at once; each names the property, the value and the fix.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (FailureRatio is <= 0 or > 1 || double.IsNaN(FailureRatio))
            errors.Add($"StepCircuitBreakerOptions.FailureRatio is {FailureRatio}; use a ratio in (0, 1] (default 0.5).");
        if (MinimumThroughput < 2)
            errors.Add($"StepCircuitBreakerOptions.MinimumThroughput is {MinimumThroughput}; use 2 or more (default 10).");
        if (SamplingDuration < TimeSpan.FromMilliseconds(500))
            errors.Add($"StepCircuitBreakerOptions.SamplingDuration is {SamplingDuration}; use 500 ms or more (default 30 s).");
        if (BreakDuration < TimeSpan.FromMilliseconds(500))
            errors.Add($"StepCircuitBreakerOptions.BreakDuration is {BreakDuration}; use 500 ms or more (default 30 s).");
        return errors;
    }
}
