using Xunit.Abstractions;
using Xunit.Sdk;

namespace TokenGrid.Silo.Tests.Cluster;

/// <summary>Runs a class's tests in the order of their method names, for tests that build on each other's cluster.</summary>
public sealed class MethodNameOrderer : ITestCaseOrderer
{
    public const string TypeName = "TokenGrid.Silo.Tests.Cluster.MethodNameOrderer";
    public const string AssemblyName = "TokenGrid.Silo.Tests";

    public IEnumerable<TTestCase> OrderTestCases<TTestCase>(IEnumerable<TTestCase> testCases)
        where TTestCase : ITestCase =>
        testCases.OrderBy(t => t.TestMethod.Method.Name, StringComparer.Ordinal);
}
