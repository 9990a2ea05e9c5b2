using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace TokenGrid.Silo.Serving;

/// <summary>
/// A request field nothing reads is refused, never silently dropped: a misspelt <c>"efective_from"</c> would publish a
/// rate card at once, and <c>"enabeld": false</c> would create an enabled tenant. Every object type read from a request
/// disallows members it does not declare, so the serializer fails on the first one and <see cref="JsonTypeMismatch"/>
/// answers 400 <c>unrecognized_argument</c> naming its path (<c>budget.plan.discount_bps</c>), as OpenAI answers a field
/// it does not know. An object that collects its other fields itself (<see cref="JsonExtensionDataAttribute"/>) is
/// left to check them: the OpenAI requests through <c>RequestFieldPolicy</c>, which accepts a few by name.
/// </summary>
internal static class UnknownFields
{
    /// <summary>The serializer contract modifier that makes <paramref name="info"/>'s object type refuse unknown members.</summary>
    public static void Refuse(JsonTypeInfo info)
    {
        if (info.Kind == JsonTypeInfoKind.Object && !info.Properties.Any(p => p.IsExtensionData))
        {
            info.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        }
    }

    /// <summary>Whether <paramref name="name"/> is a member that <paramref name="type"/>, an object refusing unknown ones, does not declare.</summary>
    public static bool IsUnknown(Type type, string name, JsonSerializerOptions options)
    {
        JsonTypeInfo info;
        try
        {
            info = options.GetTypeInfo(Nullable.GetUnderlyingType(type) ?? type);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or ArgumentException)
        {
            return false;
        }

        return info.Kind == JsonTypeInfoKind.Object
            && (info.UnmappedMemberHandling ?? options.UnmappedMemberHandling) == JsonUnmappedMemberHandling.Disallow
            && !info.Properties.Any(p => p.Name == name);
    }
}
