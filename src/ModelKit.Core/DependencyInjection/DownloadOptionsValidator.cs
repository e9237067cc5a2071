using Microsoft.Extensions.Options;
using ModelKit.Downloads;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Checks <see cref="DownloadOptions"/> and <see cref="HubOptions"/> at start, reporting every wrong field at once.</summary>
internal sealed class DownloadOptionsValidator : IValidateOptions<DownloadOptions>, IValidateOptions<HubOptions>
{
    public ValidateOptionsResult Validate(string? name, DownloadOptions options)
    {
        var errors = new List<string>();
        if (options.MaxConcurrentDownloads is < 1 or > 32) errors.Add($"ModelKit:Downloads:MaxConcurrentDownloads must be 1..32 (was {options.MaxConcurrentDownloads}).");
        if (options.MaxRetries is < 0 or > 20) errors.Add($"ModelKit:Downloads:MaxRetries must be 0..20 (was {options.MaxRetries}).");
        if (options.RetryDelay < TimeSpan.FromMilliseconds(10) || options.RetryDelay > TimeSpan.FromMinutes(1)) errors.Add($"ModelKit:Downloads:RetryDelay must be 10 ms .. 1 min (was {options.RetryDelay}).");
        if (options.StallTimeout < TimeSpan.FromSeconds(1) || options.StallTimeout > TimeSpan.FromHours(1)) errors.Add($"ModelKit:Downloads:StallTimeout must be 1 s .. 1 h (was {options.StallTimeout}).");
        if (options.ProgressInterval < TimeSpan.FromMilliseconds(50) || options.ProgressInterval > TimeSpan.FromMinutes(1)) errors.Add($"ModelKit:Downloads:ProgressInterval must be 50 ms .. 1 min (was {options.ProgressInterval}).");
        if (options.ReservedFreeBytes < 0) errors.Add($"ModelKit:Downloads:ReservedFreeBytes must be 0 or more (was {options.ReservedFreeBytes}).");
        if (options.MaxFinishedTasks is < 10 or > 100_000) errors.Add($"ModelKit:Downloads:MaxFinishedTasks must be 10..100000 (was {options.MaxFinishedTasks}).");
        for (var i = 0; i < options.LocalRoots.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.LocalRoots[i]) || !Path.IsPathFullyQualified(options.LocalRoots[i])) errors.Add($"ModelKit:Downloads:LocalRoots:{i} must be an absolute path.");
        }

        foreach (var (key, entry) in options.Catalogue)
        {
            if (string.IsNullOrWhiteSpace(entry.Source)) errors.Add($"ModelKit:Downloads:Catalogue:{key}:Source is required (huggingface, url or file).");
            else if (entry.Source.Equals("huggingface", StringComparison.OrdinalIgnoreCase) && string.IsNullOrWhiteSpace(entry.Repository))
            {
                errors.Add($"ModelKit:Downloads:Catalogue:{key}:Repository is required for the huggingface source ('org/name').");
            }
            else if (entry.Source.Equals("url", StringComparison.OrdinalIgnoreCase) && entry.Url is null) errors.Add($"ModelKit:Downloads:Catalogue:{key}:Url is required for the url source.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public ValidateOptionsResult Validate(string? name, HubOptions options)
    {
        var errors = new List<string>();
        if (options.Endpoint is { } endpoint && (!endpoint.IsAbsoluteUri || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add($"ModelKit:Hub:Endpoint must be an absolute http or https address (was '{endpoint}').");
        }

        if (options.Endpoint is null && Environment.GetEnvironmentVariable("HF_ENDPOINT") is { Length: > 0 } fromEnvironment
            && !(Uri.TryCreate(fromEnvironment, UriKind.Absolute, out var parsed) && (parsed.Scheme == Uri.UriSchemeHttp || parsed.Scheme == Uri.UriSchemeHttps)))
        {
            errors.Add("The HF_ENDPOINT environment variable must be an absolute http or https address.");
        }

        if (options.RequestTimeout < TimeSpan.FromSeconds(1) || options.RequestTimeout > TimeSpan.FromMinutes(10)) errors.Add($"ModelKit:Hub:RequestTimeout must be 1 s .. 10 min (was {options.RequestTimeout}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
