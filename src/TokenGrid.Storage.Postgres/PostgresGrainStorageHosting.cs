using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace TokenGrid.Storage.Postgres;

/// <summary>Registers grain storage in PostgreSQL.</summary>
public static class PostgresGrainStorageHosting
{
    /// <summary>
    /// Orleans' ADO.NET grain storage under <paramref name="name"/>, on the tables of migration 0002, writing state with
    /// Orleans' own serializer (which honours the contracts' <c>[Id]</c>s), wrapped in a <see cref="PostgresGrainStorage"/>.
    /// </summary>
    public static ISiloBuilder AddPostgresGrainStorage(this ISiloBuilder silo, string name, string invariant, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        silo.AddAdoNetGrainStorage(name, options => options.Configure<Serializer>((storage, serializer) =>
        {
            storage.Invariant = invariant;
            storage.ConnectionString = connectionString;
            storage.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
        }));

        var registered = silo.Services.LastOrDefault(s => s.ServiceType == typeof(IGrainStorage) && s.IsKeyedService && Equals(s.ServiceKey, name));
        var create = registered?.KeyedImplementationFactory
            ?? throw new InvalidOperationException($"Orleans' ADO.NET grain storage '{name}' was not registered by a factory; it cannot be wrapped.");
        silo.Services.Remove(registered);
        silo.Services.AddKeyedSingleton<IGrainStorage>(name, (services, key) => new PostgresGrainStorage((IGrainStorage)create(services, key)));
        return silo;
    }
}
