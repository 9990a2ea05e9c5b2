using System.Globalization;
using System.Text;
using TokenGrid.Grains.Billing.Statements;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// A statement as RFC 4180 CSV, for spreadsheets: a header row, one row per line and then one total row per currency
/// (<c>row</c> says which), CRLF line ends, a field quoted only when it holds a comma, a quote or a line break (its
/// quotes doubled), amounts as plain decimals with 6 places and no thousands separator. Hand-rolled: the format is a
/// dozen lines of rules, and no CSV library is referenced by the silo.
/// </summary>
internal static class StatementCsv
{
    public const string ContentType = "text/csv; charset=utf-8; header=present";

    private static readonly string[] Header =
    [
        "tenant_id", "period", "status", "row", "model", "direction", "region", "currency", "tokens", "unit_price", "list", "discount",
        "subsidy", "amount_due", "late_from",
    ];

    public static string Write(Statement statement)
    {
        var csv = new StringBuilder();
        Row(csv, Header);
        var common = new[] { statement.TenantId, statement.Period.ToString(), StatementView.StatusName(statement.Status) };
        foreach (var line in statement.Lines)
        {
            Row(csv, [
                .. common, "line", line.Model, StatementView.DirectionName(line.Direction), line.Region ?? "", line.Currency,
                line.Tokens.ToString(CultureInfo.InvariantCulture), line.UnitPrice.ToString(), line.List.ToString(), line.Discount.ToString(),
                line.Subsidy.ToString(), line.AmountDue.ToString(), line.LateFrom?.ToString() ?? "",
            ]);
        }

        foreach (var total in statement.Totals)
        {
            Row(csv, [
                .. common, "total", "", "", "", total.Currency, total.Tokens.ToString(CultureInfo.InvariantCulture), "", total.List.ToString(),
                total.Discount.ToString(), total.Subsidy.ToString(), total.AmountDue.ToString(), "",
            ]);
        }

        return csv.ToString();
    }

    private static void Row(StringBuilder csv, IReadOnlyList<string> fields)
    {
        for (var i = 0; i < fields.Count; i++)
        {
            if (i > 0)
            {
                csv.Append(',');
            }

            var field = fields[i];
            if (field.AsSpan().IndexOfAny(",\"\r\n") < 0)
            {
                csv.Append(field);
            }
            else
            {
                csv.Append('"').Append(field.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            }
        }

        csv.Append("\r\n");
    }
}
