using System.Globalization;
using System.Text;

namespace TokenGrid.Inference.Templates;

/// <summary>JavaScript's number-to-text rules (<c>Number.prototype.toString</c>, <c>toFixed(1)</c>, <c>parseInt</c>, <c>parseFloat</c>).</summary>
internal static class JsNumber
{
    /// <summary>ECMAScript Number::toString: shortest round-trip digits, exponent form outside 1e-7 .. 1e21.</summary>
    public static string ToString(double x)
    {
        if (double.IsNaN(x))
        {
            return "NaN";
        }

        if (x == 0)
        {
            return "0";
        }

        if (x < 0)
        {
            return "-" + ToString(-x);
        }

        if (double.IsPositiveInfinity(x))
        {
            return "Infinity";
        }

        var (digits, n) = ShortestDigits(x);
        var k = digits.Length;
        if (k <= n && n <= 21)
        {
            return digits + new string('0', n - k);
        }

        if (0 < n && n <= 21)
        {
            return digits[..n] + "." + digits[n..];
        }

        if (-6 < n && n <= 0)
        {
            return "0." + new string('0', -n) + digits;
        }

        var e = n - 1;
        var exponent = (e < 0 ? "e-" : "e+") + Math.Abs(e).ToString(CultureInfo.InvariantCulture);
        return k == 1 ? digits + exponent : digits[..1] + "." + digits[1..] + exponent;
    }

    /// <summary>@huggingface/jinja's FloatValue.toString: integral floats keep one decimal (<c>1.0</c>, <c>-0.0</c>).</summary>
    public static string FloatToString(double x)
    {
        if (x == 0 && double.IsNegative(x))
        {
            return "-0.0";
        }

        if (double.IsFinite(x) && x % 1 == 0)
        {
            return Math.Abs(x) >= 1e21 ? ToString(x) : x.ToString("F1", CultureInfo.InvariantCulture);
        }

        return ToString(x);
    }

    /// <summary><c>parseInt(text, 10)</c>; null for NaN.</summary>
    public static double? ParseInt(string text)
    {
        var s = JsText.TrimStart(text);
        var i = 0;
        var negative = false;
        if (i < s.Length && s[i] is '+' or '-')
        {
            negative = s[i++] == '-';
        }

        var start = i;
        while (i < s.Length && JsText.IsDigit(s[i]))
        {
            i++;
        }

        if (i == start)
        {
            return null;
        }

        var value = double.Parse(s[start..i], CultureInfo.InvariantCulture);
        return negative ? -value : value;
    }

    /// <summary><c>parseFloat(text)</c>: the longest decimal-literal prefix; null for NaN.</summary>
    public static double? ParseFloat(string text)
    {
        var s = JsText.TrimStart(text);
        var sign = s.StartsWith('-') ? -1.0 : 1.0;
        var body = s.StartsWith('-') || s.StartsWith('+') ? s[1..] : s;
        if (body.StartsWith("Infinity", StringComparison.Ordinal))
        {
            return sign * double.PositiveInfinity;
        }

        var i = 0;
        var mantissa = new StringBuilder();
        while (i < body.Length && JsText.IsDigit(body[i]))
        {
            mantissa.Append(body[i++]);
        }

        if (i < body.Length && body[i] == '.')
        {
            mantissa.Append(body[i++]);
            while (i < body.Length && JsText.IsDigit(body[i]))
            {
                mantissa.Append(body[i++]);
            }
        }

        if (mantissa.Length == 0 || mantissa.ToString() == ".")
        {
            return null;
        }

        var literal = mantissa.ToString();
        var j = i;
        if (j < body.Length && body[j] is 'e' or 'E')
        {
            j++;
            var expStart = j < body.Length && body[j] is '+' or '-' ? j + 1 : j;
            var k = expStart;
            while (k < body.Length && JsText.IsDigit(body[k]))
            {
                k++;
            }

            if (k > expStart)
            {
                literal += body[i..k];
            }
        }

        return sign * double.Parse(literal, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    private static (string Digits, int N) ShortestDigits(double x)
    {
        var r = x.ToString("R", CultureInfo.InvariantCulture);
        var ePos = r.IndexOfAny(['E', 'e']);
        var mantissa = ePos < 0 ? r : r[..ePos];
        var exp = ePos < 0 ? 0 : int.Parse(r[(ePos + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var point = mantissa.IndexOf('.');
        var digits = point < 0 ? mantissa : mantissa.Remove(point, 1);
        var n = (point < 0 ? mantissa.Length : point) + exp;
        var lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0')
        {
            lead++;
        }

        digits = digits[lead..].TrimEnd('0');
        return (digits.Length == 0 ? "0" : digits, n - lead);
    }
}
