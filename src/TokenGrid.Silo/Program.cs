using TokenGrid.Silo.Commands;

// TokenGrid's executable. Today it drives one inference engine from the command line; the silo and
// HTTP API join it in the next milestone.
return args switch
{
    ["generate", .. var rest] => await GenerateCommand.RunAsync(rest),
    ["build-demo-model", .. var rest] => BuildDemoModelCommand.Run(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.WriteLine("""
        TokenGrid

          generate "<prompt>" [--max-tokens N] [--temperature T] [--top-p P] [--top-k K] [--seed S]
                              [--stop TEXT] [--model DIR] [--provider auto|cuda|cpu]
              Streams a completion from the demo model (built on first use) or a model directory.

          build-demo-model [--out DIR]
              Writes the demo model (a small GPT-2 with the cl100k vocabulary) and prints its directory.
        """);
    return 0;
}
