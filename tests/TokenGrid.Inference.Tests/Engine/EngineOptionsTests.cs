using System.Reflection;
using TokenGrid.Inference.Engine;

namespace TokenGrid.Inference.Tests.Engine;

/// <summary>A node gives each of its engines the configured options under a name of its own; no setting may be lost.</summary>
public sealed class EngineOptionsTests
{
    [Fact]
    public void A_named_copy_keeps_every_setting_and_leaves_the_template_alone()
    {
        var template = new EngineOptions();
        var settable = typeof(EngineOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).ToList();
        Assert.Contains(settable, p => p.Name == nameof(EngineOptions.SamplingThreads));
        foreach (var property in settable)
        {
            // A value other than the default for each: numbers are raised by 3, unset ones set to 7, strings get a suffix.
            property.SetValue(template, property.PropertyType == typeof(int)
                ? (int)property.GetValue(template)! + 3
                : property.PropertyType == typeof(long) ? (long)property.GetValue(template)! + 3
                : property.PropertyType == typeof(int?) ? ((int?)property.GetValue(template) ?? 4) + 3 : $"{property.GetValue(template)}-set");
        }

        var named = template.Named("engine-cpu1-demo");

        Assert.Equal("engine-cpu1-demo", named.ThreadName);
        Assert.NotEqual("engine-cpu1-demo", template.ThreadName);
        Assert.All(settable.Where(p => p.Name != nameof(EngineOptions.ThreadName)), p => Assert.Equal(p.GetValue(template), p.GetValue(named)));
    }
}
