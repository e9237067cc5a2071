using System.Text.Json;
using System.Text.Json.Serialization;
using ModelKit.Scheduling;

namespace ModelKit.Deployments;

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, UseStringEnumConverter = true)]
[JsonSerializable(typeof(List<PersistedDeployment>))]
internal sealed partial class DeploymentStoreContext : JsonSerializerContext;
