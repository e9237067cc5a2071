namespace ModelKit.AspNetCore;

/// <summary>
/// Which seed answers the models resource's list, get and delete (<c>GET /api/v1/models</c>,
/// <c>GET /api/v1/models/{model_id}</c>, <c>DELETE /api/v1/models/{model_id}</c>) where seeds 000 and 002 share the path.
/// </summary>
public enum ModelsResourceShape
{
    /// <summary>Seed 002, the registry API: <c>{"code": 0, "message", "data"}</c> (the default).</summary>
    Registry = 0,

    /// <summary>Seed 000, the deployment API: bare objects (the list is a JSON array).</summary>
    Deployment = 1,
}
