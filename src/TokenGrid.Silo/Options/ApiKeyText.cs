namespace TokenGrid.Silo.Options;

/// <summary>
/// What a configured API key may be: 16 characters or more, each printable ASCII other than a space, since a client
/// can send nothing else in <c>Authorization: Bearer KEY</c> (and the bearer token is read trimmed). A key with a
/// trailing newline, as a Kubernetes Secret written with <c>echo</c> holds, would otherwise start a silo that refuses
/// every request made with it.
/// </summary>
internal static class ApiKeyText
{
    /// <summary>The minimum length of every role's key.</summary>
    public const int MinLength = 16;

    /// <summary>Why <paramref name="key"/> cannot be the <paramref name="role"/>'s key, or null (also when none is set).</summary>
    public static string? Problem(string? key, string role)
    {
        if (key is null)
        {
            return null;
        }

        if (key.Length < MinLength)
        {
            return $"the {role} API key must be at least {MinLength} characters.";
        }

        var at = key.AsSpan().IndexOfAnyExceptInRange('!', '~');
        if (at < 0)
        {
            return null;
        }

        var what = key[at] switch
        {
            '\n' or '\r' => "a line break",
            ' ' => "a space",
            '\t' => "a tab",
            < ' ' or '\u007f' => "a control character",
            _ => "a character outside printable ASCII",
        };
        var where = at == key.Length - 1 ? "at its end" : at == 0 ? "at its start" : $"at position {at + 1} of {key.Length}";
        var hint = what == "a line break" ? " (a Kubernetes Secret or file written with echo keeps its newline: use echo -n or printf)" : "";
        return $"the {role} API key has {what} {where}{hint}; a key is printable ASCII without spaces, which a client can send as a bearer token.";
    }
}
