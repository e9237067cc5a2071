using System.Text.Json;
using Microsoft.AspNetCore.OpenApi;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>OpenAPI support for ModelKit's endpoints.</summary>
public static class ModelKitOpenApiExtensions
{
    /// <summary>
    /// Names the properties of ModelKit's request and response bodies in the OpenAPI document as they are on the wire
    /// (snake_case: <c>input_data</c>, <c>request_id</c>). The document's generator uses the application's JSON
    /// options, which ModelKit leaves alone so that the application's own endpoints keep theirs.
    /// <code>builder.Services.AddOpenApi(o => o.AddModelKitSchemas());</code>
    /// </summary>
    public static OpenApiOptions AddModelKitSchemas(this OpenApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var assembly = typeof(ModelKitOpenApiExtensions).Assembly;
        options.AddSchemaTransformer((schema, context, _) =>
        {
            if (context.JsonTypeInfo.Type == typeof(ModelKit.Tensors.RawJson))
            {
                // Any JSON value (a request's input_data as the client wrote it), not the wrapper's members.
                schema.Type = null;
                schema.Properties?.Clear();
                schema.Required?.Clear();
                schema.Description = "Any JSON value: the inputs as nested arrays, or named tensors {\"shape\", \"datatype\", \"data\"}.";
                return Task.CompletedTask;
            }

            if (context.JsonTypeInfo.Type.Assembly != assembly) return Task.CompletedTask;
            if (schema.Properties is { Count: > 0 } properties)
            {
                var renamed = properties.ToList();
                properties.Clear();
                foreach (var (name, property) in renamed) properties[WireName(name)] = property;
            }

            if (schema.Required is { Count: > 0 } required)
            {
                var renamed = required.ToList();
                required.Clear();
                foreach (var name in renamed) required.Add(WireName(name));
            }

            return Task.CompletedTask;
        });
        // Query values are bound as text and parsed by the endpoints (so that a bad one is answered in the surface's error
        // shape); the document gives their real types.
        options.AddOperationTransformer((operation, context, _) =>
        {
            if (context.Description.ActionDescriptor.EndpointMetadata.OfType<ModelKit.AspNetCore.ModelKitRoutePrefix>().FirstOrDefault() is null) return Task.CompletedTask;
            foreach (var parameter in operation.Parameters ?? [])
            {
                if (parameter.In != Microsoft.OpenApi.ParameterLocation.Query || parameter.Name is null || parameter.Schema is not Microsoft.OpenApi.OpenApiSchema schema) continue;
                if (QueryTypes.TryGetValue(parameter.Name, out var type)) schema.Type = type;
            }

            return Task.CompletedTask;
        });
        return options;
    }

    private static readonly Dictionary<string, Microsoft.OpenApi.JsonSchemaType> QueryTypes = new(StringComparer.Ordinal)
    {
        ["page"] = Microsoft.OpenApi.JsonSchemaType.Integer,
        ["page_size"] = Microsoft.OpenApi.JsonSchemaType.Integer,
        ["limit"] = Microsoft.OpenApi.JsonSchemaType.Integer,
        ["offset"] = Microsoft.OpenApi.JsonSchemaType.Integer,
        ["lines"] = Microsoft.OpenApi.JsonSchemaType.Integer,
        ["max_cache_size"] = Microsoft.OpenApi.JsonSchemaType.Integer,
        ["max_memory_gb"] = Microsoft.OpenApi.JsonSchemaType.Number,
        ["favorite"] = Microsoft.OpenApi.JsonSchemaType.Boolean,
        ["force"] = Microsoft.OpenApi.JsonSchemaType.Boolean,
    };

    private static string WireName(string name) => JsonNamingPolicy.SnakeCaseLower.ConvertName(name);
}
