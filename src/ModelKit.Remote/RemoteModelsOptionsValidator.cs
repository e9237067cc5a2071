using System.Globalization;
using Microsoft.Extensions.Options;

namespace ModelKit.Remote;

/// <summary>Checks <see cref="RemoteModelsOptions"/> at start-up, reporting every wrong field at once by its configuration path.</summary>
internal sealed class RemoteModelsOptionsValidator : IValidateOptions<RemoteModelsOptions>
{
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromHours(1);

    public ValidateOptionsResult Validate(string? name, RemoteModelsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        CheckTimeout("ModelKit:RemoteModels:Timeout", options.Timeout, errors);
        CheckRetries("ModelKit:RemoteModels:MaxRetries", options.MaxRetries, errors);
        if (options.MaxChoices is < 1 or > 128) errors.Add($"ModelKit:RemoteModels:MaxChoices must be 1..128 (was {options.MaxChoices.ToString(CultureInfo.InvariantCulture)}).");
        foreach (var (id, model) in options.Models ?? [])
        {
            var path = "ModelKit:RemoteModels:Models:" + id;
            if (string.IsNullOrWhiteSpace(id) || id.Length > 256 || id.Any(char.IsControl))
            {
                errors.Add($"{path}: a remote model id must be 1..256 characters without control characters.");
            }

            if (model is null)
            {
                errors.Add($"{path} is empty; it needs at least an Endpoint.");
                continue;
            }

            if (model.Endpoint is not { IsAbsoluteUri: true } endpoint || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
            {
                errors.Add($"{path}:Endpoint must be an absolute http or https address, the API base before /chat/completions (for example https://api.openai.com/v1).");
            }

            if (model.Model is { } remoteName && string.IsNullOrWhiteSpace(remoteName)) errors.Add($"{path}:Model is blank; leave it out to use the id.");
            if (model.MaxTokensField is not (null or "max_completion_tokens" or "max_tokens"))
            {
                errors.Add($"{path}:MaxTokensField must be max_completion_tokens or max_tokens (was '{model.MaxTokensField}').");
            }

            if (model.ContextLength is < 1) errors.Add($"{path}:ContextLength must be 1 or more.");
            if (model.Timeout is { } timeout) CheckTimeout(path + ":Timeout", timeout, errors);
            if (model.MaxRetries is { } retries) CheckRetries(path + ":MaxRetries", retries, errors);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckTimeout(string path, TimeSpan timeout, List<string> errors)
    {
        if (timeout <= TimeSpan.Zero || timeout > MaxTimeout) errors.Add($"{path} must be above 0 and at most 1 hour (was {timeout}).");
    }

    private static void CheckRetries(string path, int retries, List<string> errors)
    {
        if (retries is < 0 or > 10) errors.Add($"{path} must be 0..10 (was {retries.ToString(CultureInfo.InvariantCulture)}).");
    }
}
