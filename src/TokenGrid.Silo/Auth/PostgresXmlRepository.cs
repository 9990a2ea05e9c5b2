using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using TokenGrid.Storage.Postgres;

namespace TokenGrid.Silo.Auth;

/// <summary>
/// Data Protection's key ring in PostgreSQL. The table and its statements live in the storage project
/// (<see cref="PostgresDataProtectionKeyStore"/>), which must not depend on ASP.NET Core; this adapter only forwards.
/// </summary>
internal sealed class PostgresXmlRepository(PostgresDataProtectionKeyStore store) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements() => store.GetAllElements();

    public void StoreElement(XElement element, string friendlyName) => store.StoreElement(element, friendlyName);
}
