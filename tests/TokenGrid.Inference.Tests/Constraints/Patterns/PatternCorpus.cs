namespace TokenGrid.Inference.Tests.Constraints.Patterns;

/// <summary>Realistic patterns (OpenAPI specs, form validators) within the documented regex subset.</summary>
internal static class PatternCorpus
{
    public static readonly string[] Patterns =
    [
        @"^[a-z0-9-]+$",
        @"^\+?[1-9]\d{1,14}$",
        @"^[A-Z]{2}$",
        @"^(\d{4})-(\d{2})$",
        @"^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$",
        @"abc",
        @"[0-9]+",
        @"^(cat|dog|bird)$",
        @"cat|dog",
        @"^(a+b?)*c$",
        @"^.{0,10}$",
        @"^[^\s]+$",
        @"^\d{3}-\d{3}-\d{4}$",
        @"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        @"^#?([0-9a-f]{3}|[0-9a-f]{6})$",
        @"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$",
        @"^[a-z][a-z0-9_]{2,31}$",
        @"^\S+$",
        @"^\s*$",
        @"^(?:\d{1,3}\.){3}\d{1,3}$",
        @"^https?:\/\/[^\s/$.?#].[^\s]*$",
        @"^[A-Z]{3}-\d{4}$",
        @"^\w+$",
        @"^\W*\w\W*$",
        @"^(\d+(\.\d+)?|\.\d+)$",
        @"^-?\d+(\.\d{1,2})?$",
        @"^[a-z]+(-[a-z]+)*$",
        @"^(?:[01]\d|2[0-3]):[0-5]\d$",
        @"^[^@]+@[^@]+$",
        @"\d{2,}",
        @"foo.*bar",
        @"^$",
        @"^a|b$",
        @"x?y+z*",
        @"^(ab|a)(bc|c)?$",
        @"^[\u0041-\u005A]+$",
        @"^\x41\x42?$",
        @"^[^aeiou\d]{1,5}$",
        @"^\D\W\S$",
        @"^(?<year>\d{4})-(?<month>0[1-9]|1[0-2])$",
        @"^[a-z]{1,3}?x+?$",
        @"^(a|b|c){2,4}$",
        @"^\.\/\\\-$",
        @"^\t\n\v\f\r\0$",
        @"^[é中Ω]+$",
        @"^\u00e9+\u4e2d?$",
        @"^((a|b)*c){2}$",
        @"^[A-Za-z]{2}\d{2}[A-Za-z0-9]{1,30}$",
        @"^(\([0-9]{3}\) |[0-9]{3}-)[0-9]{3}-[0-9]{4}$",
        @"[^a-z]",
        @"^a{2}b{0,}c{1,3}$",
        @"^(?:(?:a|b)c|d)*e$",
        @"^[\s\d]+x$",
        @"^[\w.-]+$",
    ];

    public static TheoryData<string> All()
    {
        var data = new TheoryData<string>();
        foreach (var pattern in Patterns)
        {
            data.Add(pattern);
        }

        return data;
    }
}
