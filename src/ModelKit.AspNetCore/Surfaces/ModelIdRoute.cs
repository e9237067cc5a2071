using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ModelKit.AspNetCore;

/// <summary>
/// Model ids in paths. An id of the Hugging Face form <c>org/name</c> arrives either as two segments (the surfaces map
/// <c>…/{org}/{name}…</c> beside <c>…/{model_id}…</c>) or with its slash escaped as <c>%2F</c>, which routing leaves escaped.
/// </summary>
internal static class ModelIdRoute
{
    /// <summary>The id from one path segment: <c>%2F</c> (either case) is the slash of <c>org/name</c>.</summary>
    public static string FromSegment(string segment) =>
        segment.Contains('%', StringComparison.Ordinal) ? segment.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase) : segment;

    /// <summary>
    /// Decodes the <c>model_id</c> argument of every endpoint of <paramref name="group"/> (<c>acme%2Ftiny</c> is the model
    /// <c>acme/tiny</c>), for surfaces whose routes take the id as one segment.
    /// </summary>
    public static RouteGroupBuilder DecodeModelIds(this RouteGroupBuilder group)
    {
        group.AddEndpointFilterFactory(static (factory, next) =>
        {
            var index = Array.FindIndex(factory.MethodInfo.GetParameters(), p => p.Name == "model_id" && p.ParameterType == typeof(string));
            if (index < 0) return next;
            return context =>
            {
                if (context.Arguments[index] is string id && id.Contains('%', StringComparison.Ordinal)) context.Arguments[index] = FromSegment(id);
                return next(context);
            };
        });
        return group;
    }

    /// <summary>An id as one path segment of a link (<c>acme/tiny</c> → <c>acme%2Ftiny</c>).</summary>
    public static string ToSegment(string id) => Uri.EscapeDataString(id);

    /// <summary>The id <c>org/name</c> from two segments.</summary>
    public static string FromSegments(string org, string name) => org + "/" + name;
}
