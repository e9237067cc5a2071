namespace ModelKit.AspNetCore;

/// <summary>
/// An endpoint whose feature is not built yet (NOT_IMPLEMENTED, 501), with a message naming what is missing and the issue
/// it arrives with. Thrown by the endpoint; the surface's filter writes it in the surface's own error shape.
/// </summary>
internal sealed class NotBuiltException(string message) : ModelKitException(ModelKitProblems.NotImplemented, message);
