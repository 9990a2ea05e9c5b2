using System.Text;
using TokenGrid.Silo.OpenAi;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// A token's text in log probabilities: its bytes when they are well-formed UTF-8, else OpenAI's <c>bytes:\xNN</c> form,
/// whatever the strict decoder would refuse (parts of characters, surrogates, overlong forms).
/// </summary>
public sealed class LogprobTextTests
{
    [Theory]
    [InlineData("hello")]
    [InlineData(" naïve")]
    [InlineData("日本")]
    [InlineData("🙂")]
    [InlineData("")]
    public void Whole_characters_are_the_text(string text) => Assert.Equal(text, LogprobFormat.Text(Encoding.UTF8.GetBytes(text)));

    [Theory]
    [InlineData(new byte[] { 0xE6, 0x97 }, "bytes:\\xe6\\x97")] // the first two bytes of 日
    [InlineData(new byte[] { 0xA5 }, "bytes:\\xa5")] // a continuation byte alone
    [InlineData(new byte[] { 0x61, 0xF0, 0x9F }, "bytes:\\x61\\xf0\\x9f")] // a letter, then half an emoji
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 }, "bytes:\\xed\\xa0\\x80")] // a surrogate, which UTF-8 may not encode
    [InlineData(new byte[] { 0xC0, 0xAF }, "bytes:\\xc0\\xaf")] // an overlong '/'
    [InlineData(new byte[] { 0xFF }, "bytes:\\xff")]
    public void Anything_else_is_shown_as_its_bytes(byte[] bytes, string expected) => Assert.Equal(expected, LogprobFormat.Text(bytes));
}
