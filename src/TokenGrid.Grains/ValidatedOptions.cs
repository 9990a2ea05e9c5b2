using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace TokenGrid.Grains;

/// <summary>
/// Options bound from one configuration section that can say what is wrong with them: the one way TokenGrid's options
/// are validated (an <see cref="IValidateOptions{TOptions}"/> run when the host starts).
/// </summary>
public interface IValidatedOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    static abstract string SectionName { get; }

    /// <summary>A reason these options are invalid, or null.</summary>
    string? Validate();
}

/// <summary>Turns <see cref="IValidatedOptions.Validate"/> into an options validation result, prefixed with the section.</summary>
public sealed class ValidatedOptionsValidator<T> : IValidateOptions<T>
    where T : class, IValidatedOptions
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, T options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Validate() is { } error ? ValidateOptionsResult.Fail($"{T.SectionName}: {error}") : ValidateOptionsResult.Success;
    }
}

/// <summary>Registration of <see cref="IValidatedOptions"/>.</summary>
public static class ValidatedOptionsExtensions
{
    /// <summary>
    /// Binds <typeparamref name="T"/> to its section and validates it when the host starts (once, however often this
    /// is called); returns the builder for further configuration.
    /// </summary>
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services)
        where T : class, IValidatedOptions
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<T>, ValidatedOptionsValidator<T>>());
        return services.AddOptions<T>().BindConfiguration(T.SectionName).ValidateOnStart();
    }

    /// <summary>
    /// Binds and validates <typeparamref name="T"/> now, for settings a host is built from (ports, providers);
    /// throws <see cref="OptionsValidationException"/> when invalid.
    /// </summary>
    public static T GetValidated<T>(this IConfiguration configuration)
        where T : class, IValidatedOptions, new()
    {
        var options = configuration.GetSection(T.SectionName).Get<T>() ?? new T();
        var result = new ValidatedOptionsValidator<T>().Validate(null, options);
        return result.Failed ? throw new OptionsValidationException(T.SectionName, typeof(T), [result.FailureMessage]) : options;
    }
}
