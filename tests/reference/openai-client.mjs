// A second real client for TokenGrid's OpenAI surface: the official `openai` npm package. Usage:
//   node openai-client.mjs BASE_URL API_KEY
// Runs a fixed set of calls (greedy chat, streaming, the stream helper with finalChatCompletion(), stop arrays, seed, logprobs, logit_bias, legacy completions with
// logprobs and echo, n > 1 choices, several prompts in one completion, refused and unknown parameters) and prints one JSON object with what each returned, for the
// xunit test (tests/TokenGrid.Silo.Tests/OpenAiNodeClientTests.cs) to assert on.
import OpenAI from "openai";
import { attempt, report } from "./attempts.mjs";

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const model = "demo";
const messages = [{ role: "user", content: "Say something about tokens." }];

await attempt("greedy", async () => {
  const r = await client.chat.completions.create({ model, messages, max_tokens: 8, temperature: 0 });
  return { text: r.choices[0].message.content, finish: r.choices[0].finish_reason, usage: r.usage };
});

await attempt("stream", async () => {
  const stream = await client.chat.completions.create({
    model, messages, max_tokens: 8, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  let text = "";
  let usage = null;
  let chunks = 0;
  // The SDK's own documentation of include_usage: "All other chunks will also include a usage field, but with a null value."
  let nullUsage = 0;
  for await (const chunk of stream) {
    chunks++;
    nullUsage += chunk.usage === null ? 1 : 0;
    text += chunk.choices[0]?.delta?.content ?? "";
    usage = chunk.usage ?? usage;
  }
  return { text, usage, chunks, nullUsage };
});

await attempt("seed", async () => {
  const once = () => client.chat.completions.create({ model, messages, max_tokens: 10, temperature: 1.3, seed: 77 });
  const [a, b] = [await once(), await once()];
  return { first: a.choices[0].message.content, second: b.choices[0].message.content };
});

await attempt("stop", async () => {
  const free = await client.completions.create({ model, prompt: "The token office", max_tokens: 16, temperature: 0, ignore_eos: true });
  const text = free.choices[0].text;
  const stop = text.substring(Math.floor(text.length / 2), Math.floor(text.length / 2) + 2);
  const cut = await client.completions.create({
    model, prompt: "The token office", max_tokens: 16, temperature: 0, ignore_eos: true, stop: ["\u0001never", stop],
  });
  return { free: text, stop, text: cut.choices[0].text, finish: cut.choices[0].finish_reason };
});

await attempt("logprobs", async () => {
  const r = await client.chat.completions.create({ model, messages, max_tokens: 4, temperature: 0, logprobs: true, top_logprobs: 3 });
  return { content: r.choices[0].logprobs?.content ?? null, usage: r.usage };
});

await attempt("streamLogprobs", async () => {
  const stream = await client.chat.completions.create({ model, messages, max_tokens: 4, temperature: 0, logprobs: true, top_logprobs: 1, stream: true });
  const content = [];
  for await (const chunk of stream) {
    content.push(...(chunk.choices[0]?.logprobs?.content ?? []));
  }
  return { content };
});

await attempt("logitBias", async () => {
  const r = await client.completions.create({ model, prompt: "Hello", max_tokens: 2, temperature: 0, logit_bias: { "1527": 100 } });
  return { text: r.choices[0].text };
});

await attempt("legacyLogprobs", async () => {
  const r = await client.completions.create({ model, prompt: "Hello", max_tokens: 3, temperature: 0, ignore_eos: true, logprobs: 2 });
  return { text: r.choices[0].text, logprobs: r.choices[0].logprobs, usage: r.usage };
});

await attempt("echo", async () => {
  const r = await client.completions.create({ model, prompt: "Echo me", max_tokens: 2, temperature: 0, echo: true });
  return { text: r.choices[0].text };
});

await attempt("choices", async () => {
  // n = 3 with a seed: three choices, in index order, the same on a repeat; streamed, each chunk names its choice.
  const once = () => client.chat.completions.create({ model, messages, max_tokens: 8, temperature: 1.2, seed: 5, n: 3, ignore_eos: true });
  const [a, b] = [await once(), await once()];
  const texts = (r) => r.choices.map((c) => c.message.content);
  const stream = await client.completions.create({
    model, prompt: "Echo me", max_tokens: 6, temperature: 1.2, seed: 5, n: 3, echo: true, ignore_eos: true, stream: true, stream_options: { include_usage: true },
  });
  const streamed = ["", "", ""];
  const finishes = [null, null, null];
  let usage = null;
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      streamed[c.index] += c.text;
      finishes[c.index] = c.finish_reason ?? finishes[c.index];
    }
    usage = chunk.usage ?? usage;
  }
  return {
    indexes: a.choices.map((c) => c.index), first: texts(a), second: texts(b), usage: a.usage,
    finishes: a.choices.map((c) => c.finish_reason), streamed, streamFinishes: finishes, streamUsage: usage,
  };
});

await attempt("promptBatch", async () => {
  // Two prompts × n = 2: choice i × 2 + j is prompt i's choice j, as a request for that prompt alone gives it; streamed,
  // each chunk names its choice, and one usage chunk counts each prompt once.
  const fields = { model, max_tokens: 4, temperature: 1.2, seed: 8, n: 2, echo: true, ignore_eos: true };
  const prompts = ["Echo me", "The token office"];
  const r = await client.completions.create({ ...fields, prompt: prompts });
  const alone = [];
  for (const prompt of prompts) alone.push(await client.completions.create({ ...fields, prompt }));
  const stream = await client.completions.create({ ...fields, prompt: prompts, stream: true, stream_options: { include_usage: true } });
  const streamed = ["", "", "", ""];
  let streamUsage = null;
  for await (const chunk of stream) {
    for (const c of chunk.choices) streamed[c.index] += c.text;
    streamUsage = chunk.usage ?? streamUsage;
  }
  return {
    indexes: r.choices.map((c) => c.index), texts: r.choices.map((c) => c.text), usage: r.usage,
    alone: alone.map((a) => a.choices.map((c) => c.text)), alonePrompt: alone.map((a) => a.usage.prompt_tokens), streamed, streamUsage,
  };
});

await attempt("tools", () =>
  client.chat.completions.create({ model, messages, max_tokens: 2, tools: [{ type: "function", function: { name: "f", parameters: {} } }] }));

await attempt("unknown", () => client.chat.completions.create({ model, messages, max_tokens: 2, frobnicate: true }));

// Out of range: a 400 the SDK does not retry (this once failed as a 503, which the SDK retried).
await attempt("repetitionPenalty", () => client.completions.create({ model, prompt: "Hello", max_tokens: 2, repetition_penalty: 150 }));

// The SDK reads the x-request-id header into request_id, of a reply and of an error, for a client to quote.
await attempt("requestId", async () => {
  const { request_id } = await client.chat.completions.create({ model, messages, max_tokens: 2 }).withResponse();
  return { requestId: request_id ?? null };
});

// The SDK's stream helper: events as the text arrives, then the whole completion assembled from the chunks.
await attempt("helperStream", async () => {
  const stream = client.chat.completions.stream({ model, messages, max_tokens: 8, temperature: 0, stream_options: { include_usage: true } });
  let text = "";
  stream.on("content", (delta) => { text += delta; });
  const final = await stream.finalChatCompletion();
  return { text, content: final.choices[0].message.content, finish: final.choices[0].finish_reason, usage: final.usage };
});

await attempt("notFound", () => client.chat.completions.create({ model: "no-such-model", messages, max_tokens: 2 }));

await attempt("overflow", () => client.chat.completions.create({ model, messages, max_completion_tokens: 100000 }));

report();
