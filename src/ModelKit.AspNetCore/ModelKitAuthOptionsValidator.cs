using Microsoft.Extensions.Options;
using ModelKit.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Checks the auth options when the host starts, reporting every invalid field at once. Once the host has started,
/// a configuration change (a key rotated in a reloading appsettings.json) is not failed here: failing would throw on the
/// configuration's reload thread. Invalid keys of such a change are left out, each logged, by <see cref="ModelKitApiKeyDigests"/>.
/// </summary>
internal sealed class ModelKitAuthOptionsValidator(IServiceProvider services) : IValidateOptions<ModelKitAuthOptions>
{
    private static readonly HashSet<string> KnownScopes = [ModelKitScopes.Read, ModelKitScopes.Infer, ModelKitScopes.Manage];

    public ValidateOptionsResult Validate(string? name, ModelKitAuthOptions options)
    {
        if (services.GetService(typeof(Microsoft.Extensions.Hosting.IHostApplicationLifetime)) is Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime
            && lifetime.ApplicationStarted.IsCancellationRequested)
        {
            return ValidateOptionsResult.Success;
        }

        var errors = new List<string>();
        if (options.Enabled && options.Keys.Count == 0)
        {
            errors.Add("ModelKit API keys are required but none is configured: add keys (ModelKit:Auth:Keys) or turn authentication off explicitly (ModelKit:Auth:Enabled = false).");
        }

        if (options.RequestsPerMinute < 0) errors.Add($"RequestsPerMinute must be 0 (off) or more (was {options.RequestsPerMinute}).");
        if (options.FailedAttemptsPerMinute < 0) errors.Add($"FailedAttemptsPerMinute must be 0 (off) or more (was {options.FailedAttemptsPerMinute}).");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Keys.Count; i++) errors.AddRange(KeyProblems(options.Keys[i], i, names));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>What is wrong with key number <paramref name="index"/> (empty when nothing); <paramref name="names"/> collects the names seen.</summary>
    public static IEnumerable<string> KeyProblems(ModelKitApiKey key, int index, HashSet<string> names)
    {
        if (string.IsNullOrWhiteSpace(key.Name)) yield return $"API key #{index + 1} needs a Name.";
        else if (!names.Add(key.Name)) yield return $"API key name '{key.Name}' is used twice.";
        if (key.Key.Length < 16) yield return $"API key '{key.Name}' is shorter than 16 characters.";
        if (key.Scopes.Count == 0) yield return $"API key '{key.Name}' has no scopes (use read, infer, manage).";
        foreach (var scope in key.Scopes.Where(s => !KnownScopes.Contains(s))) yield return $"API key '{key.Name}' has an unknown scope '{scope}' (use read, infer, manage).";
    }
}
