using System.Xml.Linq;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace TokenGrid.Storage.Postgres;

/// <summary>
/// The ASP.NET Core Data Protection key ring in <c>tokengrid_data_protection_keys</c> (migration 0008), shared by every
/// silo on the database. The host adapts it to Data Protection's <c>IXmlRepository</c>, whose two members it mirrors;
/// this project stays free of ASP.NET Core. Data Protection calls it rarely (when it loads or renews its key ring) and
/// synchronously, so it is synchronous too.
/// </summary>
public sealed class PostgresDataProtectionKeyStore([FromKeyedServices(PostgresLedgerHosting.DataSourceKey)] NpgsqlDataSource dataSource)
{
    /// <summary>Every element of the key ring, oldest first.</summary>
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var command = dataSource.CreateCommand("SELECT xml FROM tokengrid_data_protection_keys ORDER BY stored_at, friendly_name");
        using var reader = command.ExecuteReader();
        var elements = new List<XElement>();
        while (reader.Read())
        {
            elements.Add(XElement.Parse(reader.GetString(0)));
        }

        return elements;
    }

    /// <summary>Stores <paramref name="element"/> under <paramref name="friendlyName"/>, replacing an element of that name.</summary>
    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        ArgumentException.ThrowIfNullOrEmpty(friendlyName);
        using var command = dataSource.CreateCommand("""
            INSERT INTO tokengrid_data_protection_keys (friendly_name, xml) VALUES ($1, $2)
            ON CONFLICT (friendly_name) DO UPDATE SET xml = EXCLUDED.xml, stored_at = now()
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = friendlyName });
        command.Parameters.Add(new NpgsqlParameter { Value = element.ToString(SaveOptions.DisableFormatting) });
        command.ExecuteNonQuery();
    }
}
