// OpenAI's Responses API through the official `openai` npm package, against TokenGrid. Usage:
//   node openai-responses.mjs BASE_URL API_KEY LIMITED_KEY ABORT_KEY
// LIMITED_KEY is a tenant's whose max_concurrent_jobs is 1 (a 429 with Retry-After); ABORT_KEY a fresh tenant's (a stream
// aborted mid-way, whose job and ledger the test reads). Prints one JSON object with what each call gave, for
// tests/TokenGrid.Silo.Tests/ResponsesApiTests.cs to assert on.
import OpenAI from "openai";
import { attempt, holdOnlySlot, report } from "./attempts.mjs";

const [baseURL, apiKey, limitedKey, abortKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const model = "demo";
const input = "Say something about tokens.";
const answer = {
  type: "json_schema", name: "answer", strict: true,
  schema: { type: "object", properties: { answer: { type: "string", maxLength: 12 } }, required: ["answer"], additionalProperties: false },
};
const shape = (r) => ({
  id: r.id, object: r.object, status: r.status, model: r.model, text: r.output_text, usage: r.usage,
  incomplete: r.incomplete_details, output: r.output, createdAt: r.created_at, instructions: r.instructions,
});

// max_output_tokens ends the demo model's text (which rarely ends by itself): incomplete, as OpenAI answers it.
await attempt("whole", async () => shape(await client.responses.create({ model, input, max_output_tokens: 8, temperature: 0 })));

// create({ stream: true }): the typed events as they come, and the response the last one carries.
await attempt("stream", async () => {
  const stream = await client.responses.create({ model, input, max_output_tokens: 8, temperature: 0, stream: true });
  const types = [];
  const sequence = [];
  let text = "";
  let final = null;
  for await (const event of stream) {
    types.push(event.type);
    sequence.push(event.sequence_number);
    if (event.type === "response.output_text.delta") text += event.delta;
    if (event.type === "response.completed" || event.type === "response.incomplete") final = event.response;
  }
  return { types, sequence, text, final: final && shape(final) };
});

// The SDK's stream helper: delta events, then the response it assembled from them.
await attempt("helperStream", async () => {
  const stream = client.responses.stream({ model, input, max_output_tokens: 8, temperature: 0 });
  let text = "";
  stream.on("response.output_text.delta", (event) => { text += event.delta; });
  const final = await stream.finalResponse();
  return { text, ...shape(final) };
});

// text.format json_schema: constrained decoding makes a value of the schema, which ends the reply: completed.
await attempt("structured", async () => {
  const r = await client.responses.create({ model, input: "Answer in JSON.", max_output_tokens: 60, text: { format: answer } });
  return { ...shape(r), parsed: JSON.parse(r.output_text) };
});
await attempt("structuredStream", async () => {
  const final = await client.responses.stream({ model, input: "Answer in JSON.", max_output_tokens: 60, text: { format: answer } }).finalResponse();
  return { ...shape(final), parsed: JSON.parse(final.output_text) };
});

// instructions and a conversation of message items, an assistant's reply sent back as the SDK gave it.
await attempt("conversation", async () => {
  const first = await client.responses.create({ model, instructions: "Be brief.", input, max_output_tokens: 4, temperature: 0 });
  const r = await client.responses.create({
    model, instructions: "Be brief.", max_output_tokens: 4, temperature: 0,
    input: [
      { role: "user", content: [{ type: "input_text", text: input }] },
      ...first.output,
      { role: "developer", content: "Answer in one word." },
      { role: "user", content: "And more?" },
    ],
  });
  return { first: shape(first), second: shape(r) };
});

await attempt("badModel", () => client.responses.create({ model: "no-such-model", input, max_output_tokens: 2 }));
await attempt("badValue", () => client.responses.create({ model, input, max_output_tokens: 2, temperature: 7 }));
await attempt("overflow", () => client.responses.create({ model, input, max_output_tokens: 100000 }));
await attempt("previousResponse", () => client.responses.create({ model, input, max_output_tokens: 2, previous_response_id: "resp_123" }));
await attempt("tools", () => client.responses.create({ model, input, max_output_tokens: 2, tools: [{ type: "function", name: "f", parameters: {} }] }));
await attempt("webSearch", () => client.responses.create({ model, input, max_output_tokens: 2, tools: [{ type: "web_search" }] }));
await attempt("functionOutput", () => client.responses.create({
  model, max_output_tokens: 2, input: [{ role: "user", content: input }, { type: "function_call_output", call_id: "call_1", output: "1" }],
}));
await attempt("image", () => client.responses.create({
  model, max_output_tokens: 2, input: [{ role: "user", content: [{ type: "input_image", image_url: "https://example.com/a.png" }] }],
}));
await attempt("unknown", () => client.responses.create({ model, input, max_output_tokens: 2, frobnicate: true }));
await attempt("badKey", () => new OpenAI({ baseURL, apiKey: "tg-wrong-key-0123456789", maxRetries: 0 }).responses.create({ model, input }));
await attempt("streamBadModel", async () => {
  const stream = await client.responses.create({ model: "no-such-model", input, stream: true });
  for await (const _ of stream) { /* the error comes before any event */ }
});

// A 429 with Retry-After: the limited tenant's one slot is held by a stream of its own.
await attempt("rateLimited", async () => {
  const release = await holdOnlySlot(baseURL, limitedKey);
  try {
    await new OpenAI({ baseURL, apiKey: limitedKey, maxRetries: 0 }).responses.create({ model, input, max_output_tokens: 2 });
    return { failed: false };
  } catch (e) {
    return { status: e.status ?? null, code: e.code ?? null, retryAfter: e.headers?.get?.("retry-after") ?? null };
  } finally {
    await release();
  }
});

// A stream its client leaves after three deltas: the job is cancelled and charged for what it produced.
await attempt("abort", async () => {
  const stream = await new OpenAI({ baseURL, apiKey: abortKey, maxRetries: 0 }).responses.create({
    model, input, max_output_tokens: 200, stream: true,
  });
  let deltas = 0;
  for await (const event of stream) {
    if (event.type === "response.output_text.delta" && ++deltas === 3) break;
  }
  return { deltas };
});

report();
