namespace ModelKit.AspNetCore;

/// <summary>The scopes an API key can hold. <c>manage</c> includes the other two.</summary>
public static class ModelKitScopes
{
    /// <summary>Read models, deployments, statistics and cache state.</summary>
    public const string Read = "read";
    /// <summary>Run inference (sync, batch, async jobs).</summary>
    public const string Infer = "infer";
    /// <summary>Change things: register, upload, deploy, scale, update, delete, cache configuration.</summary>
    public const string Manage = "manage";

    /// <summary>Reading a job: the keys that may read (<see cref="Read"/>) and the keys that submit jobs (<see cref="Infer"/>).</summary>
    internal const string ReadOrInfer = "read-or-infer";

    internal static string Policy(string scope) => "modelkit:" + scope;

    /// <summary>Whether a key holding <paramref name="held"/> may do what needs <paramref name="wanted"/> (manage holds every scope; read-or-infer is either).</summary>
    internal static bool Grants(string held, string wanted) =>
        held == wanted || held == Manage || (wanted == ReadOrInfer && held is Read or Infer);
}
