namespace TokenGrid.Inference.Tools;

/// <summary>
/// Finds where a JSON object or array ends, one character at a time, by its brackets outside strings. Whether the text
/// is valid JSON is decided afterwards, by System.Text.Json.
/// </summary>
internal sealed class JsonExtent
{
    private int _depth;
    private bool _inString;
    private bool _escape;

    /// <summary>Starts a value at its opening bracket.</summary>
    public void Start() => (_depth, _inString, _escape) = (1, false, false);

    /// <summary>Reads the character after the opening bracket, or after the last one read; true when it closes the value.</summary>
    public bool Step(char c)
    {
        if (_inString)
        {
            (_escape, _inString) = _escape ? (false, true) : (c == '\\', c != '"');
        }
        else if (c == '"')
        {
            _inString = true;
        }
        else if (c is '{' or '[')
        {
            _depth++;
        }
        else if (c is '}' or ']')
        {
            return --_depth == 0;
        }

        return false;
    }
}
