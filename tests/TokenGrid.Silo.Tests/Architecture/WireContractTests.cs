using System.Reflection;
using System.Text;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Architecture;

/// <summary>
/// What silos of two releases must agree on during a rolling update, checked against the record of the last release
/// (<c>wire-contract.txt</c> beside this file): the grain interfaces' methods (a call names its method by a hash of its
/// signature), the types Orleans serializes, which grain state is stored as, with each member's id and type, and the
/// values of the enums among them (sent as numbers).
/// </summary>
/// <remarks>
/// A rolling update runs the old and the new build in one cluster on one database, and a rollback runs the old build on
/// what the new one stored. An old silo could not call a method whose signature changed (it fails with "Unable to resolve
/// type alias"), read a member whose id now holds another type, or a state whose type was renamed. So a line of the
/// record may never change or go; what a release adds is recorded by writing the file again
/// (<c>TOKENGRID_WRITE_WIRE_CONTRACT=1</c> when running this test) and reviewed in the diff, where a new grain method is
/// the thing to look for: a new silo calling it on a grain that lives on an old silo fails until the roll is done
/// (k8s/README.md, "Upgrades").
/// </remarks>
public sealed class WireContractTests
{
    private static readonly Assembly[] s_assemblies =
    [
        typeof(TokenGrid.Abstractions.Jobs.JobSpec).Assembly,
        typeof(TokenGrid.Grains.Jobs.JobGrain).Assembly,
    ];

    private static string RecordPath => Path.Combine(RepositoryRoot.Path, "tests", "TokenGrid.Silo.Tests", "Architecture", "wire-contract.txt");

    [Fact]
    public void Nothing_an_older_silo_sends_stores_or_calls_has_changed_and_additions_are_recorded()
    {
        var current = Contract();
        if (Environment.GetEnvironmentVariable("TOKENGRID_WRITE_WIRE_CONTRACT") == "1")
        {
            File.WriteAllText(RecordPath, Header + string.Join('\n', current) + "\n");
        }

        var recorded = File.ReadAllLines(RecordPath).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var gone = recorded.Except(current, StringComparer.Ordinal).ToList();
        var added = current.Except(recorded, StringComparer.Ordinal).ToList();
        Assert.True(gone.Count == 0,
            "Changed or removed since the last release, which its silos still send, store or call during a rolling update "
            + "(add a member, a method or an enum value instead):\n" + string.Join('\n', gone));
        Assert.True(added.Count == 0,
            "New since the record: run this test with TOKENGRID_WRITE_WIRE_CONTRACT=1 to record them, and mind new grain "
            + "methods (see this test's remarks):\n" + string.Join('\n', added));
    }

    [Fact]
    public void The_record_knows_every_grain_interface_and_the_states_of_the_grains()
    {
        var recorded = File.ReadAllText(RecordPath);
        Assert.Contains("grain TokenGrid.Abstractions.Jobs.IJobGrain.SubmitAsync(TokenGrid.Abstractions.Jobs.JobSpec) : Task<TokenGrid.Abstractions.Jobs.JobInfo>", recorded);
        Assert.Contains("type TokenGrid.Grains.Tenants.TenantState", recorded);
        Assert.Contains("enum TokenGrid.Abstractions.Jobs.JobStatus.Succeeded = ", recorded);
    }

    private const string Header = """
        # The wire contract of the last release: what silos of two releases must agree on during a rolling update.
        # Written by WireContractTests with TOKENGRID_WRITE_WIRE_CONTRACT=1; a line may be added, never changed or removed.

        """;

    /// <summary>The contract's lines, sorted: grain methods, serialized types with their members, enum values.</summary>
    private static List<string> Contract()
    {
        var lines = new List<string>();
        var enums = new HashSet<Type>();
        foreach (var type in s_assemblies.SelectMany(a => a.GetTypes()))
        {
            if (type.IsInterface && typeof(IAddressable).IsAssignableFrom(type) && type.Namespace?.StartsWith("TokenGrid", StringComparison.Ordinal) == true)
            {
                foreach (var method in type.GetMethods())
                {
                    var parameters = method.GetParameters().Select(p => p.ParameterType).ToList();
                    lines.Add($"grain {Name(type)}.{method.Name}({string.Join(", ", parameters.Select(Name))}) : {Name(method.ReturnType)}");
                    parameters.Append(method.ReturnType).ToList().ForEach(t => CollectEnums(t, enums));
                }
            }
            else if (type.GetCustomAttribute<GenerateSerializerAttribute>() is not null)
            {
                lines.Add($"type {Name(type)}");

                const BindingFlags Members = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
                foreach (var member in type.GetFields(Members).Cast<MemberInfo>().Concat(type.GetProperties(Members)))
                {
                    if (member.GetCustomAttribute<IdAttribute>() is { } id)
                    {
                        var memberType = member is FieldInfo f ? f.FieldType : ((PropertyInfo)member).PropertyType;
                        lines.Add($"member {Name(type)}#{id.Id} {Name(memberType)}");
                        CollectEnums(memberType, enums);
                    }
                }
            }
        }

        // Orleans sends an enum as its number, with no attribute of its own: each value used on the wire is part of it.
        foreach (var type in enums)
        {
            lines.AddRange(Enum.GetNames(type).Select(n => $"enum {Name(type)}.{n} = {Convert.ToInt64(Enum.Parse(type, n), System.Globalization.CultureInfo.InvariantCulture)}"));
        }

        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    /// <summary>Adds our enums in <paramref name="type"/>, its element type and its generic arguments.</summary>
    private static void CollectEnums(Type type, HashSet<Type> enums)
    {
        if (type.IsEnum && type.Namespace?.StartsWith("TokenGrid", StringComparison.Ordinal) == true)
        {
            enums.Add(type);
        }

        foreach (var inner in (type.HasElementType ? [type.GetElementType()!] : Type.EmptyTypes).Concat(type.GetGenericArguments()))
        {
            CollectEnums(inner, enums);
        }
    }

    /// <summary>A type's name as the record writes it: full names, generic arguments spelled out, nullable as <c>?</c>.</summary>
    private static string Name(Type type)
    {
        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return Name(underlying) + "?";
        }

        if (type.IsArray)
        {
            return Name(type.GetElementType()!) + "[]";
        }

        var name = type.IsGenericType ? type.GetGenericTypeDefinition().FullName! : type.FullName ?? type.Name;
        name = name.Split('`')[0].Replace('+', '.');
        if (name.StartsWith("System.", StringComparison.Ordinal) && name.Count(c => c == '.') == 1)
        {
            name = name["System.".Length..];
        }
        else if (name.StartsWith("System.Threading.Tasks.", StringComparison.Ordinal) || name.StartsWith("System.Collections.Generic.", StringComparison.Ordinal))
        {
            name = name[(name.LastIndexOf('.') + 1)..];
        }

        if (!type.IsGenericType)
        {
            return name;
        }

        var builder = new StringBuilder(name).Append('<');
        builder.AppendJoin(", ", type.GetGenericArguments().Select(Name));
        return builder.Append('>').ToString();
    }
}
