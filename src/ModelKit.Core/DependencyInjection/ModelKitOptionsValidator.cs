using Microsoft.Extensions.Options;
using ModelKit;
using ModelKit.Caching;
using ModelKit.Deployments;
using ModelKit.Inference;

namespace Microsoft.Extensions.DependencyInjection;

internal sealed class ModelKitOptionsValidator :
    IValidateOptions<ModelKitOptions>, IValidateOptions<ModelCacheOptions>, IValidateOptions<InferenceOptions>, IValidateOptions<DeploymentOptions>,
    IValidateOptions<InferenceJobOptions>
{
    public ValidateOptionsResult Validate(string? name, InferenceJobOptions options)
    {
        var errors = new List<string>();
        if (options.MaxJobs < 1) errors.Add($"InferenceJobOptions.MaxJobs must be at least 1 (was {options.MaxJobs}).");
        if (options.Retention <= TimeSpan.Zero) errors.Add($"InferenceJobOptions.Retention must be positive (was {options.Retention}).");
        if (options.MaxConcurrentJobs < 1) errors.Add($"InferenceJobOptions.MaxConcurrentJobs must be at least 1 (was {options.MaxConcurrentJobs}).");
        if (options.DefaultTimeout <= TimeSpan.Zero) errors.Add($"InferenceJobOptions.DefaultTimeout must be positive (was {options.DefaultTimeout}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public ValidateOptionsResult Validate(string? name, DeploymentOptions options)
    {
        var errors = new List<string>();
        if (options.MaxLogEntries < 1) errors.Add($"DeploymentOptions.MaxLogEntries must be at least 1 (was {options.MaxLogEntries}).");
        if (options.AutoscaleInterval <= TimeSpan.Zero) errors.Add($"DeploymentOptions.AutoscaleInterval must be positive (was {options.AutoscaleInterval}).");
        if (options.ScaleDownAfterIdleChecks < 1) errors.Add($"DeploymentOptions.ScaleDownAfterIdleChecks must be at least 1 (was {options.ScaleDownAfterIdleChecks}).");
        if (options.DrainTimeout <= TimeSpan.Zero) errors.Add($"DeploymentOptions.DrainTimeout must be positive (was {options.DrainTimeout}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public ValidateOptionsResult Validate(string? name, ModelKitOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory)) errors.Add("ModelKitOptions.DataDirectory is required.");
        if (options.MaxArtifactBytes <= 0) errors.Add($"ModelKitOptions.MaxArtifactBytes must be positive (was {options.MaxArtifactBytes}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public ValidateOptionsResult Validate(string? name, ModelCacheOptions options)
    {
        var errors = new List<string>();
        if (options.MemoryLimitBytes is <= 0) errors.Add($"ModelCacheOptions.MemoryLimitBytes must be positive or unset (was {options.MemoryLimitBytes}).");
        if (!(options.MemoryLimitFraction is > 0 and <= 1)) errors.Add($"ModelCacheOptions.MemoryLimitFraction must be greater than 0 and at most 1 (was {options.MemoryLimitFraction}).");
        if (options.MaxModels is < 1 or > 10_000) errors.Add($"ModelCacheOptions.MaxModels must be 1..10000 (was {options.MaxModels}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public ValidateOptionsResult Validate(string? name, InferenceOptions options)
    {
        var errors = new List<string>();
        if (options.DefaultTimeout <= TimeSpan.Zero) errors.Add($"InferenceOptions.DefaultTimeout must be positive (was {options.DefaultTimeout}).");
        if (!ModelKit.Backends.ExecutionDevice.TryParse(options.DefaultDevice, out _)) errors.Add($"InferenceOptions.DefaultDevice must be 'cpu' or 'cuda:N' (was '{options.DefaultDevice}').");
        if (options.IntraOpThreads is < 1 or > 1024) errors.Add($"InferenceOptions.IntraOpThreads must be 1..1024 (was {options.IntraOpThreads}).");
        try
        {
            options.DefaultBatching.Validate();
        }
        catch (InvalidModelConfigException ex)
        {
            errors.Add("InferenceOptions.DefaultBatching: " + ex.Message);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
