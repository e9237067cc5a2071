namespace ModelKit.Text;

/// <summary>
/// Keys of the <see cref="ITextGenerationService"/> registrations behind the host's unkeyed one. A local backend
/// (ModelKit.Onnx) registers itself under <see cref="Local"/> as well as unkeyed; ModelKit.Remote's router then takes the
/// unkeyed place and sends every model that is not remote to the <see cref="Local"/> one, whichever was added first.
/// </summary>
public static class TextGenerationServiceKeys
{
    /// <summary>The local backend's text generation service.</summary>
    public const string Local = "ModelKit.Text.Local";
}
