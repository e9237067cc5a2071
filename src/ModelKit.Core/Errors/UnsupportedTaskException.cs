namespace ModelKit;

/// <summary>The request names a task the model does not perform (UNSUPPORTED_TASK).</summary>
public sealed class UnsupportedTaskException(string message) : ModelKitException(ModelKitErrorCodes.UnsupportedTask, message);
