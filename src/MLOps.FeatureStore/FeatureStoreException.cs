namespace MLOps.FeatureStore;

/// <summary>A feature store operation failed for a reason other than bad input (the online or offline store could not be
/// read or written).</summary>
public class FeatureStoreException : MLOpsException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, on which feature set, and what to do.</param>
    public FeatureStoreException(string message) : base(message) { }

    /// <summary>Creates the exception with a cause.</summary>
    /// <param name="message">What failed, on which feature set, and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public FeatureStoreException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with no message.</summary>
    public FeatureStoreException() { }
}
