using Microsoft.Extensions.DependencyInjection.Extensions;
using ModelKit.Backends;
using ModelKit.Onnx;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the ONNX Runtime backend to ModelKit.</summary>
public static class OnnxModelKitBuilderExtensions
{
    /// <summary>Registers <see cref="OnnxBackend"/> for framework <c>onnx</c>. Calling it twice is harmless.</summary>
    public static IModelKitBuilder AddOnnxRuntime(this IModelKitBuilder builder, Action<OnnxRuntimeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<OnnxRuntimeOptions>();
        if (configure is not null) builder.Services.Configure(configure);
        builder.Services.TryAddSingleton<OnnxBackend>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IInferenceBackend, OnnxBackend>(sp => sp.GetRequiredService<OnnxBackend>()));
        return builder;
    }
}
