using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace TokenGrid.Grains.Storage;

/// <summary>Registers TokenGrid's grain storage providers.</summary>
public static class StorageHosting
{
    /// <summary>
    /// Registers <see cref="InProcessGrainStorage"/> under <paramref name="name"/> (default
    /// <see cref="TokenGridStorage.Name"/>): state in this process only, for a single silo.
    /// </summary>
    public static ISiloBuilder AddInProcessGrainStorage(this ISiloBuilder silo, string name = TokenGridStorage.Name)
    {
        silo.Services.AddKeyedSingleton<IGrainStorage>(name, (services, _) => new InProcessGrainStorage(services.GetRequiredService<Serializer>()));
        return silo;
    }
}
