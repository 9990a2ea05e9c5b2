using System.Globalization;
using System.Text;

namespace TokenGrid.Inference.Templates;

/// <summary>
/// Python's <c>strftime</c> for the directives chat templates use (Llama 3.x writes <c>"%d %b %Y"</c>): <c>%Y %y %m %d
/// %e %j %H %I %M %S %p %a %A %b %B %%</c>, with English names. Any other directive is refused rather than guessed.
/// </summary>
internal static class Strftime
{
    public static string Format(DateTimeOffset time, string format)
    {
        var text = new StringBuilder();
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                text.Append(format[i]);
                continue;
            }

            var d = format[++i];
            text.Append(d switch
            {
                'Y' => time.Year.ToString("D4", CultureInfo.InvariantCulture),
                'y' => (time.Year % 100).ToString("D2", CultureInfo.InvariantCulture),
                'm' => time.Month.ToString("D2", CultureInfo.InvariantCulture),
                'd' => time.Day.ToString("D2", CultureInfo.InvariantCulture),
                'e' => time.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2),
                'j' => time.DayOfYear.ToString("D3", CultureInfo.InvariantCulture),
                'H' => time.Hour.ToString("D2", CultureInfo.InvariantCulture),
                'I' => ((time.Hour + 11) % 12 + 1).ToString("D2", CultureInfo.InvariantCulture),
                'M' => time.Minute.ToString("D2", CultureInfo.InvariantCulture),
                'S' => time.Second.ToString("D2", CultureInfo.InvariantCulture),
                'p' => time.Hour < 12 ? "AM" : "PM",
                'a' => CultureInfo.InvariantCulture.DateTimeFormat.GetAbbreviatedDayName(time.DayOfWeek),
                'A' => CultureInfo.InvariantCulture.DateTimeFormat.GetDayName(time.DayOfWeek),
                'b' => CultureInfo.InvariantCulture.DateTimeFormat.GetAbbreviatedMonthName(time.Month),
                'B' => CultureInfo.InvariantCulture.DateTimeFormat.GetMonthName(time.Month),
                '%' => "%",
                _ => throw new TemplateError($"strftime directive %{d} is not supported", unsupported: true),
            });
        }

        return text.ToString();
    }
}
