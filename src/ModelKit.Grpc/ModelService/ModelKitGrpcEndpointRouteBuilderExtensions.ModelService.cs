using Microsoft.AspNetCore.Routing;
using ModelKit.Grpc;

namespace Microsoft.AspNetCore.Builder;

public static partial class ModelKitGrpcEndpointRouteBuilderExtensions
{
    static partial void MapModelService(IEndpointRouteBuilder endpoints, List<IEndpointConventionBuilder> builders) =>
        builders.Add(endpoints.MapGrpcService<GrpcModelService>());
}
