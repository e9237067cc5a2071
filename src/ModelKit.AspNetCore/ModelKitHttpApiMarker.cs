namespace Microsoft.Extensions.DependencyInjection;

internal sealed class ModelKitHttpApiMarker;
