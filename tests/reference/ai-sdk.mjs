// The Vercel AI SDK (`ai` with `@ai-sdk/openai-compatible` and `@ai-sdk/openai`) against TokenGrid, as a tenant points it
// at an OpenAI-compatible server, with the framework's defaults. Usage:
//   node ai-sdk.mjs BASE_URL API_KEY LIMITED_KEY ABORT_KEY
//   node ai-sdk.mjs --tools BASE_URL API_KEY MODEL
//   node ai-sdk.mjs --stored BASE_URL API_KEY
// LIMITED_KEY is a tenant's whose max_concurrent_jobs is 1 (its 429s, with Retry-After, and the SDK's retries);
// ABORT_KEY a fresh tenant's (a stream aborted by abortSignal, whose job and ledger the test reads). Prints one JSON
// object with what each call gave, for tests/TokenGrid.Silo.Tests/FrameworkClientTests.cs to assert on. With --tools it
// calls a tool through the default provider's model (the Responses API) on MODEL, a model with a chat template of its own
// (RealModelFolderTests.Responses.cs). With --stored it runs two turns of a conversation through the default provider's
// model (store true): the second sends the first's text back as an item_reference (StoredResponsesTests.cs).
import { generateText, Output, RetryError, stepCountIs, streamText, tool } from "ai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { createOpenAI } from "@ai-sdk/openai";
import { z } from "zod";
import { attempt, countingFetch, holdOnlySlot, report } from "./attempts.mjs";

// A mode given as the first argument runs alone, with the arguments after it.
const mode = { "--tools": tools, "--stored": stored }[process.argv[2]];
if (mode) {
  await mode(...process.argv.slice(3));
  report();
  process.exit(0);
}

const [baseURL, apiKey, limitedKey, abortKey] = process.argv.slice(2);
const prompt = "Say something about tokens.";
// includeUsage: without it the provider asks for no usage in a stream (stream_options), and TokenGrid, as OpenAI, sends none.
const compatible = createOpenAICompatible({ name: "tokengrid", baseURL, apiKey, includeUsage: true });
// Under the limited tenant, so that the main tenant's ledger holds only calls whose usage the SDK reported.
const plainCompatible = createOpenAICompatible({ name: "tokengrid", baseURL, apiKey: limitedKey });
const openai = createOpenAI({ baseURL, apiKey });

const failure = (e) => {
  const last = RetryError.isInstance(e) ? e.lastError : e;
  return {
    kind: e.name, status: last?.statusCode ?? null, message: last?.message ?? e.message, retryable: last?.isRetryable ?? null,
    code: last?.data?.error?.code ?? null, param: last?.data?.error?.param ?? null, attempts: RetryError.isInstance(e) ? e.errors.length : 1,
  };
};
const failing = async (call) => { try { await call(); return { failed: false }; } catch (e) { return failure(e); } };

const whole = async (model) => {
  const r = await generateText({ model, prompt, maxOutputTokens: 8 });
  return { text: r.text, finish: r.finishReason, usage: r.usage };
};
const streamed = async (model) => {
  const r = streamText({ model, prompt, maxOutputTokens: 8 });
  let text = "";
  for await (const part of r.textStream) text += part;
  return { text, finish: await r.finishReason, usage: await r.usage, totalUsage: await r.totalUsage };
};

for (const [name, model] of [
  ["compatibleChat", compatible("demo")], ["compatibleCompletion", compatible.completionModel("demo")],
  ["openaiChat", openai.chat("demo")], ["openaiCompletion", openai.completion("demo")],
  // @ai-sdk/openai's provider(model) is its Responses API model.
  ["openaiResponses", openai("demo")],
]) {
  await attempt(name, async () => ({ whole: await whole(model), stream: await streamed(model) }));
}
await attempt("compatibleDefaultStream", () => streamed(plainCompatible("demo")));

// Structured output: @ai-sdk/openai-compatible sends a json_schema response_format only with supportsStructuredOutputs
// (by default json_object, which no schema holds the output to); @ai-sdk/openai's chat model sends it by default.
const schema = z.object({ answer: z.string().max(12) });
const structured = async (model) => {
  const r = await generateText({ model, prompt: "Answer in JSON.", maxOutputTokens: 40, output: Output.object({ schema }) });
  return { output: r.output, finish: r.finishReason, usage: r.usage };
};
await attempt("structured", () => structured(createOpenAICompatible({ name: "tokengrid", baseURL, apiKey, supportsStructuredOutputs: true })("demo")));
await attempt("openaiStructured", () => structured(openai.chat("demo")));
// The Responses API model sends the schema as text.format json_schema.
await attempt("responsesStructured", () => structured(openai("demo")));

await attempt("badKey", () => failing(() => generateText({
  model: createOpenAICompatible({ name: "tokengrid", baseURL, apiKey: "tg-wrong-key-0123456789" })("demo"), prompt, maxRetries: 0 })));
await attempt("badModel", () => failing(() => generateText({ model: compatible("no-such-model"), prompt, maxRetries: 0 })));
await attempt("badValue", () => failing(() => generateText({ model: compatible("demo"), prompt, temperature: 7, maxRetries: 0 })));

// A 429 with Retry-After: the tenant's one slot is held by a stream of its own; the SDK retries at its defaults.
await attempt("rateLimited", async () => {
  const release = await holdOnlySlot(baseURL, limitedKey);
  const sent = [];
  const counting = countingFetch(sent);
  const limited = createOpenAICompatible({ name: "tokengrid", baseURL, apiKey: limitedKey, fetch: counting });
  const result = await failing(() => generateText({ model: limited("demo"), prompt, maxOutputTokens: 2 }));
  await release();
  return { ...result, sent: sent.map((s, i) => ({ ...s, afterMs: i === 0 ? 0 : s.at - sent[i - 1].at })) };
});

// An abort mid-stream: the job must be cancelled and charged for what it produced.
await attempt("abort", async () => {
  const controller = new AbortController();
  const aborting = createOpenAICompatible({ name: "tokengrid", baseURL, apiKey: abortKey, includeUsage: true });
  const r = streamText({ model: aborting("demo"), prompt, maxOutputTokens: 400, abortSignal: controller.signal, onError: () => {} });
  let parts = 0;
  let text = "";
  try {
    for await (const part of r.textStream) {
      text += part;
      if (++parts === 3) controller.abort();
    }
  } catch (e) {
    return { parts, text, error: e.name };
  }
  return { parts, text, error: null, finish: await r.finishReason.catch((e) => e.name) };
});

report();

// A tool through openai(model), the Responses API: a forced call the SDK runs and answers in a second step (whose input
// holds the function_call and its function_call_output), and a streamed call.
async function tools(baseURL, apiKey, model) {
  const openai = createOpenAI({ baseURL, apiKey });
  const getWeather = tool({
    description: "The weather in a city.",
    inputSchema: z.object({ city: z.string().max(20), unit: z.enum(["celsius", "fahrenheit"]) }),
    execute: async ({ city, unit }) => ({ city, unit, degrees: 12 }),
  });
  const prompt = "What is the weather in Oslo?";
  await attempt("generate", async () => {
    const r = await generateText({
      model: openai(model), prompt, tools: { getWeather }, toolChoice: { type: "tool", toolName: "getWeather" }, maxOutputTokens: 120,
      // The second step answers the tool's result in text: these random weights would otherwise call again.
      stopWhen: stepCountIs(2), prepareStep: ({ stepNumber }) => (stepNumber === 1 ? { toolChoice: "none", maxOutputTokens: 4 } : undefined),
    });
    return {
      steps: r.steps.map((s) => ({ finish: s.finishReason, toolCalls: s.toolCalls.map((c) => ({ id: c.toolCallId, name: c.toolName, input: c.input })), results: s.toolResults.length, usage: s.usage, text: s.text })),
      totalUsage: r.totalUsage,
    };
  });
  await attempt("stream", async () => {
    const r = streamText({ model: openai(model), prompt, tools: { getWeather }, toolChoice: "required", maxOutputTokens: 120 });
    const parts = [];
    for await (const part of r.fullStream) {
      if (part.type.startsWith("tool-")) parts.push({ type: part.type, name: part.toolName ?? null, input: part.input ?? null, delta: part.delta ?? null });
    }
    return { parts, finish: await r.finishReason, usage: await r.usage, toolCalls: (await r.toolCalls).map((c) => ({ name: c.toolName, input: c.input })) };
  });
}

// Two turns through openai(model) at its defaults (store true): the first step writes text, and the second call sends
// the conversation back, where the SDK puts an item_reference to the first reply's message in place of its text.
async function stored(baseURL, apiKey) {
  const sent = [];
  const recording = async (url, init) => {
    sent.push(JSON.parse(init.body));
    return fetch(url, init);
  };
  const openai = createOpenAI({ baseURL, apiKey, fetch: recording });
  await attempt("turns", async () => {
    const first = await generateText({ model: openai("demo"), prompt: "Say something about tokens.", maxOutputTokens: 6, maxRetries: 0 });
    const second = await generateText({
      model: openai("demo"), maxOutputTokens: 6, maxRetries: 0,
      messages: [{ role: "user", content: "Say something about tokens." }, ...first.response.messages, { role: "user", content: "And more?" }],
    });
    return {
      first: { text: first.text, id: first.response.id },
      second: { text: second.text, finish: second.finishReason, usage: second.usage },
      secondInput: sent[1]?.input ?? null,
    };
  });
}
