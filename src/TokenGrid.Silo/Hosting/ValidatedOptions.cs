using Microsoft.Extensions.Options;

namespace TokenGrid.Silo.Hosting;

/// <summary>Options bound from one configuration section that can say what is wrong with them.</summary>
internal interface IValidatedOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    static abstract string SectionName { get; }

    /// <summary>A reason these options are invalid, or null.</summary>
    string? Validate();
}

/// <summary>Turns <see cref="IValidatedOptions.Validate"/> into an options validation result.</summary>
internal sealed class ValidatedOptionsValidator<T> : IValidateOptions<T>
    where T : class, IValidatedOptions
{
    public ValidateOptionsResult Validate(string? name, T options) =>
        options.Validate() is { } error ? ValidateOptionsResult.Fail($"{T.SectionName}: {error}") : ValidateOptionsResult.Success;
}

/// <summary>Registration of <see cref="IValidatedOptions"/>.</summary>
internal static class ValidatedOptionsExtensions
{
    /// <summary>Binds <typeparamref name="T"/> to its section and validates it when the host starts.</summary>
    public static IServiceCollection AddValidatedOptions<T>(this IServiceCollection services)
        where T : class, IValidatedOptions
    {
        services.AddOptions<T>().BindConfiguration(T.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<T>, ValidatedOptionsValidator<T>>();
        return services;
    }

    /// <summary>
    /// Binds and validates <typeparamref name="T"/> now, for settings the host is built from (ports, providers);
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
