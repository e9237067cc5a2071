namespace ModelKit.Scheduling;

/// <summary>Request priorities; a higher one is always dispatched first.</summary>
public enum RequestPriority
{
    /// <summary>Dispatched before normal and low.</summary>
    High = 0,
    /// <summary>The default.</summary>
    Normal = 1,
    /// <summary>Dispatched only when nothing of higher priority waits.</summary>
    Low = 2,
}
