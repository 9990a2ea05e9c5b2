// LangChain JS (`@langchain/openai`: ChatOpenAI and the legacy OpenAI LLM class) against TokenGrid, pointed at it with
// `configuration: { baseURL }` as its documentation shows for OpenAI-compatible servers, with its defaults. Usage:
//   node langchain.mjs BASE_URL API_KEY LIMITED_KEY ABORT_KEY
// LIMITED_KEY is a tenant's whose max_concurrent_jobs is 1 (its 429s and LangChain's retries); ABORT_KEY a fresh
// tenant's (a stream aborted by its signal, whose job and ledger the test reads). Prints one JSON object with what each
// call gave, for tests/TokenGrid.Silo.Tests/FrameworkClientTests.cs to assert on.
import { ChatOpenAI, OpenAI } from "@langchain/openai";
import { z } from "zod";
import { attempt, countingFetch, holdOnlySlot, report } from "./attempts.mjs";

const [baseURL, apiKey, limitedKey, abortKey] = process.argv.slice(2);
const prompt = "Say something about tokens.";
const chat = new ChatOpenAI({ model: "demo", apiKey, configuration: { baseURL }, maxTokens: 8 });
const llm = new OpenAI({ model: "demo", apiKey, configuration: { baseURL }, maxTokens: 8 });

const failing = async (call) => {
  try {
    await call();
    return { failed: false };
  } catch (e) {
    return { kind: e.constructor.name, status: e.status ?? null, message: e.error?.message ?? e.message, code: e.code ?? e.error?.code ?? null,
      param: e.param ?? e.error?.param ?? null, langchainCode: e.lc_error_code ?? null };
  }
};

await attempt("invoke", async () => {
  const r = await chat.invoke(prompt);
  return { text: r.content, usage: r.usage_metadata, finish: r.response_metadata.finish_reason, tokenUsage: r.response_metadata.tokenUsage };
});
await attempt("stream", async () => {
  let text = "";
  let usage = null;
  let finish = null;
  for await (const chunk of await chat.stream(prompt)) {
    text += chunk.content;
    usage = chunk.usage_metadata ?? usage;
    finish = chunk.response_metadata?.finish_reason ?? finish;
  }
  return { text, usage, finish };
});
await attempt("batch", async () => ({ replies: (await chat.batch(["One", "Two"])).map((r) => ({ text: r.content, usage: r.usage_metadata })) }));

// withStructuredOutput sends a strict json_schema response_format, which TokenGrid's constrained decoding holds.
await attempt("structured", async () => {
  const r = await new ChatOpenAI({ model: "demo", apiKey, configuration: { baseURL }, maxTokens: 40 })
    .withStructuredOutput(z.object({ answer: z.string().max(12) }), { includeRaw: true }).invoke("Answer in JSON.");
  return { output: r.parsed, usage: r.raw.usage_metadata };
});

// useResponsesApi: ChatOpenAI calls POST /v1/responses instead of chat completions, and reads its usage from the response.
await attempt("responses", async () => {
  const r = await new ChatOpenAI({ model: "demo", apiKey, configuration: { baseURL }, maxTokens: 8, useResponsesApi: true }).invoke(prompt);
  return { text: r.text, usage: r.usage_metadata };
});

await attempt("llmInvoke", async () => ({ text: await llm.invoke(prompt) }));
await attempt("llmStream", async () => {
  let text = "";
  for await (const part of await llm.stream(prompt)) text += part;
  return { text };
});
// generate() sends up to batchSize (20) prompts in one request: 21 prompts at the default are two requests, of 20 and 1.
await attempt("llmGenerateBatched", async () => {
  const sent = [];
  const batched = new OpenAI({ model: "demo", apiKey, configuration: { baseURL, fetch: countingFetch(sent) }, maxTokens: 8 });
  const r = await batched.generate(Array.from({ length: 21 }, (_, i) => `Prompt ${i}`));
  return { texts: r.generations.map((g) => g.map((c) => c.text)), tokenUsage: r.llmOutput.tokenUsage, sent };
});
// With n it groups the choices by prompt from their index (prompt i × n + j): each prompt's choices echo that prompt.
await attempt("llmGenerateChoices", async () => {
  const choices = new OpenAI({ model: "demo", apiKey, configuration: { baseURL }, maxTokens: 4, n: 2, modelKwargs: { echo: true } });
  const r = await choices.generate(["Alpha", "Beta", "Gamma"]);
  return { texts: r.generations.map((g) => g.map((c) => c.text)), tokenUsage: r.llmOutput.tokenUsage };
});
await attempt("llmGenerate", async () => {
  const one = new OpenAI({ model: "demo", apiKey, configuration: { baseURL }, maxTokens: 8, batchSize: 1 });
  const r = await one.generate(["One", "Two"]);
  return { texts: r.generations.map((g) => g[0].text), tokenUsage: r.llmOutput.tokenUsage };
});

const refusing = (options) => new ChatOpenAI({ model: "demo", apiKey, configuration: { baseURL }, maxRetries: 0, ...options });
await attempt("badKey", () => failing(() => refusing({ apiKey: "tg-wrong-key-0123456789" }).invoke(prompt)));
await attempt("badModel", () => failing(() => refusing({ model: "no-such-model" }).invoke(prompt)));
await attempt("badValue", () => failing(() => refusing({ topP: 7 }).invoke(prompt)));

// A 429 with Retry-After: the tenant's one slot is held by a stream of its own; LangChain retries once (maxRetries 1).
await attempt("rateLimited", async () => {
  const release = await holdOnlySlot(baseURL, limitedKey);
  const sent = [];
  const counting = countingFetch(sent);
  const limited = new ChatOpenAI({ model: "demo", apiKey: limitedKey, configuration: { baseURL, fetch: counting }, maxTokens: 2, maxRetries: 1 });
  const result = await failing(() => limited.invoke(prompt));
  await release();
  return { ...result, sent };
});

// An abort mid-stream: the job must be cancelled and charged for what it produced.
await attempt("abort", async () => {
  const controller = new AbortController();
  const aborting = new ChatOpenAI({ model: "demo", apiKey: abortKey, configuration: { baseURL }, maxTokens: 400 });
  let chunks = 0;
  try {
    for await (const chunk of await aborting.stream(prompt, { signal: controller.signal })) {
      if (chunk.content && ++chunks === 3) controller.abort();
    }
  } catch (e) {
    return { chunks, error: e.name };
  }
  return { chunks, error: null };
});

report();
