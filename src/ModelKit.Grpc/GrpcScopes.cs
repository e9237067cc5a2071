using ModelKit.AspNetCore;

namespace ModelKit.Grpc;

/// <summary>
/// The scope each RPC needs, as REST's equivalents do: reading (metadata, lists, status) needs <c>read</c>, inference
/// and generation <c>infer</c>, deploying and unloading <c>manage</c>. Liveness, readiness and gRPC health are
/// anonymous (probes), as REST's <c>/v2/health/…</c> are. An RPC not listed needs <c>manage</c>.
/// </summary>
internal static class GrpcScopes
{
    private static readonly Dictionary<string, string?> Scopes = new(StringComparer.Ordinal)
    {
        ["/inference.GRPCInferenceService/ServerLive"] = null,
        ["/inference.GRPCInferenceService/ServerReady"] = null,
        ["/inference.GRPCInferenceService/ModelReady"] = ModelKitScopes.Read,
        ["/inference.GRPCInferenceService/ServerMetadata"] = ModelKitScopes.Read,
        ["/inference.GRPCInferenceService/ModelMetadata"] = ModelKitScopes.Read,
        ["/inference.GRPCInferenceService/ModelInfer"] = ModelKitScopes.Infer,
        ["/inference.GRPCInferenceService/ModelStreamInfer"] = ModelKitScopes.Infer,
        ["/model.ModelService/ListModels"] = ModelKitScopes.Read,
        ["/model.ModelService/GetModel"] = ModelKitScopes.Read,
        ["/model.ModelService/CreateCompletion"] = ModelKitScopes.Infer,
        ["/model.ModelService/CreateCompletionStream"] = ModelKitScopes.Infer,
        ["/model.ModelService/CreateChatCompletion"] = ModelKitScopes.Infer,
        ["/model.ModelService/CreateChatCompletionStream"] = ModelKitScopes.Infer,
        ["/model.ModelService/CreateEmbeddings"] = ModelKitScopes.Infer,
        ["/model.ModelService/ListLocalModels"] = ModelKitScopes.Read,
        ["/model.ModelService/DeployLocalModel"] = ModelKitScopes.Manage,
        ["/model.ModelService/GetDeploymentStatus"] = ModelKitScopes.Read,
        ["/model.ModelService/UnloadLocalModel"] = ModelKitScopes.Manage,
        ["/grpc.health.v1.Health/Check"] = null,
        ["/grpc.health.v1.Health/Watch"] = null,
        ["/grpc.health.v1.Health/List"] = null,
        ["/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"] = ModelKitScopes.Read,
        ["/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"] = ModelKitScopes.Read,
    };

    /// <summary>The scope the method at <paramref name="path"/> (<c>/package.Service/Method</c>) needs; null: anonymous.</summary>
    public static string? For(string path) => Scopes.TryGetValue(path, out var scope) ? scope : ModelKitScopes.Manage;
}
