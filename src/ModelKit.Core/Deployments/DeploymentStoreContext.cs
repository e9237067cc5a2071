using System.Text.Json.Serialization;

namespace ModelKit.Deployments;

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, UseStringEnumConverter = true)]
[JsonSerializable(typeof(List<PersistedDeployment>))]
[JsonSerializable(typeof(PersistedDeployment))]
internal sealed partial class DeploymentStoreContext : JsonSerializerContext;
