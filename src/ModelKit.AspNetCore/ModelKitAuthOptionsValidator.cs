using Microsoft.Extensions.Options;
using ModelKit.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

internal sealed class ModelKitAuthOptionsValidator : IValidateOptions<ModelKitAuthOptions>
{
    private static readonly HashSet<string> KnownScopes = [ModelKitScopes.Read, ModelKitScopes.Infer, ModelKitScopes.Manage];

    public ValidateOptionsResult Validate(string? name, ModelKitAuthOptions options)
    {
        var errors = new List<string>();
        if (options.Enabled && options.Keys.Count == 0)
        {
            errors.Add("ModelKit API keys are required but none is configured: add keys (ModelKit:Auth:Keys) or turn authentication off explicitly (ModelKit:Auth:Enabled = false).");
        }

        if (options.RequestsPerMinute < 0) errors.Add($"RequestsPerMinute must be 0 (off) or more (was {options.RequestsPerMinute}).");
        if (options.FailedAttemptsPerMinute < 0) errors.Add($"FailedAttemptsPerMinute must be 0 (off) or more (was {options.FailedAttemptsPerMinute}).");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Keys.Count; i++)
        {
            var key = options.Keys[i];
            if (string.IsNullOrWhiteSpace(key.Name)) errors.Add($"API key #{i + 1} needs a Name.");
            else if (!names.Add(key.Name)) errors.Add($"API key name '{key.Name}' is used twice.");
            if (key.Key.Length < 16) errors.Add($"API key '{key.Name}' is shorter than 16 characters.");
            if (key.Scopes.Count == 0) errors.Add($"API key '{key.Name}' has no scopes (use read, infer, manage).");
            foreach (var scope in key.Scopes.Where(s => !KnownScopes.Contains(s))) errors.Add($"API key '{key.Name}' has an unknown scope '{scope}' (use read, infer, manage).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
