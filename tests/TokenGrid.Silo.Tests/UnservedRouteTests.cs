using System.Net;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// A path no endpoint maps, or a method a path does not take: frameworks call OpenAI endpoints of their own choosing
/// (OpenAI's SDKs list a stored response's input items under <c>/v1/responses/{id}/input_items</c>, which TokenGrid does not serve), and the problem must say what was
/// asked for and what is served, not only "Not Found".
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class UnservedRouteTests(ServerFixture fixture)
{
    private TokenGridServer Server => fixture.Server;

    [Theory]
    [InlineData("POST", "v1/embeddings", "Embeddings API")]
    [InlineData("GET", "v1/responses/resp_123/input_items", "response store beyond retrieval and deletion (input items, cancel)")]
    [InlineData("POST", "v1/responses/resp_123/cancel", "response store beyond retrieval and deletion (input items, cancel)")]
    [InlineData("GET", "v1/nothing-here", null)]
    public async Task An_endpoint_we_do_not_serve_is_a_problem_naming_it_and_what_is_served(string method, string path, string? api)
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = new StringContent("""{"model":"demo","input":"Hi"}""", System.Text.Encoding.UTF8, "application/json");
        }

        var problem = await (await client.SendAsync(request)).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        var message = problem["error"]!["message"]!.GetValue<string>();
        Assert.Contains($"{method} /{path}", message, StringComparison.Ordinal);
        Assert.Contains("POST /v1/chat/completions, POST /v1/completions, POST /v1/responses, GET and DELETE /v1/responses/{id}, GET /v1/models", message, StringComparison.Ordinal);
        if (api is not null)
        {
            Assert.Contains($"OpenAI's {api} is not served.", message, StringComparison.Ordinal);
        }

        if (path.StartsWith("v1/responses/", StringComparison.Ordinal))
        {
            // What of the response store is served, and where a response's job is.
            Assert.Contains("POST /v1/responses and GET and DELETE /v1/responses/{id} are served; the job of response resp_X is at GET /v1/jobs/job_X", message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_method_a_path_does_not_take_is_a_problem_naming_the_methods_it_takes()
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var problem = await (await client.GetAsync("v1/chat/completions")).AssertProblemAsync(HttpStatusCode.MethodNotAllowed, "method_not_allowed");
        Assert.Equal("GET is not allowed on /v1/chat/completions, which takes POST.", problem["error"]!["message"]!.GetValue<string>());

        // The Responses API's list of stored responses does not exist either: /v1/responses takes only POST.
        problem = await (await client.GetAsync("v1/responses")).AssertProblemAsync(HttpStatusCode.MethodNotAllowed, "method_not_allowed");
        Assert.Equal("GET is not allowed on /v1/responses, which takes POST.", problem["error"]!["message"]!.GetValue<string>());
    }
}
