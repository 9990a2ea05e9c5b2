// OpenAI's Responses API through the official `openai` npm package, against TokenGrid. Usage:
//   node openai-responses.mjs BASE_URL API_KEY LIMITED_KEY ABORT_KEY
//   node openai-responses.mjs --tools BASE_URL API_KEY MODEL
//   node openai-responses.mjs --stored BASE_URL API_KEY OTHER_KEY
// LIMITED_KEY is a tenant's whose max_concurrent_jobs is 1 (a 429 with Retry-After); ABORT_KEY a fresh tenant's (a stream
// aborted mid-way, whose job and ledger the test reads). With --tools it calls function tools on MODEL (a model with a
// chat template of its own, which the demo model has not). With --stored it stores responses (store is true by default),
// sends an output item back as item_reference, retrieves them, and tries both under OTHER_KEY, another tenant's. Prints
// one JSON object with what each call gave, for tests/TokenGrid.Silo.Tests/ResponsesApiTests.cs,
// RealModelFolderTests.Responses.cs and StoredResponsesTests.cs to assert on.
import OpenAI from "openai";
import { attempt, holdOnlySlot, report } from "./attempts.mjs";

// A mode given as the first argument runs alone, with the arguments after it.
const mode = { "--tools": tools, "--stored": stored }[process.argv[2]];
if (mode) {
  await mode(...process.argv.slice(3));
  report();
  process.exit(0);
}

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

// Log probabilities: on each output_text part, and on each streamed delta, from what chat's logprobs compute.
const logprobs = { model, input, max_output_tokens: 6, temperature: 0, include: ["message.output_text.logprobs"], top_logprobs: 3 };
await attempt("logprobs", async () => {
  const r = await client.responses.create(logprobs);
  return { ...shape(r), logprobs: r.output[0].content[0].logprobs };
});
await attempt("logprobsStream", async () => {
  const stream = client.responses.stream(logprobs);
  const deltas = [];
  stream.on("response.output_text.delta", (event) => deltas.push({ delta: event.delta, logprobs: event.logprobs }));
  const final = await stream.finalResponse();
  return { deltas, ...shape(final), logprobs: final.output[0].content[0].logprobs };
});

await attempt("badModel", () => client.responses.create({ model: "no-such-model", input, max_output_tokens: 2 }));
await attempt("badValue", () => client.responses.create({ model, input, max_output_tokens: 2, temperature: 7 }));
await attempt("overflow", () => client.responses.create({ model, input, max_output_tokens: 100000 }));
await attempt("previousResponse", () => client.responses.create({ model, input, max_output_tokens: 2, previous_response_id: "resp_123" }));
await attempt("tools", () => client.responses.create({ model, input, max_output_tokens: 2, tools: [{ type: "function", name: "f", parameters: {} }] }));
await attempt("badInclude", () => client.responses.create({ model, input, max_output_tokens: 2, include: ["file_search_call.results"] }));
await attempt("badTopLogprobs", () => client.responses.create({ model, input, max_output_tokens: 2, include: ["message.output_text.logprobs"], top_logprobs: 21 }));
await attempt("webSearch", () => client.responses.create({ model, input, max_output_tokens: 2, tools: [{ type: "web_search" }] }));
await attempt("functionOutput", () => client.responses.create({
  model, max_output_tokens: 2, input: [{ role: "user", content: input }, { type: "function_call_output", call_id: "call_1", output: "1" }],
}));
await attempt("reference", () => client.responses.create({ model, max_output_tokens: 2, input: [{ type: "item_reference", id: "msg_1" }] }));
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

// Function tools on a model that takes them: forced calls, plain and streamed, a round trip with the call's output, and
// a call the model may choose (auto) next to text.
async function tools(baseURL, apiKey, model) {
  const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
  const weather = {
    type: "function", name: "get_weather", description: "The weather in a city.", strict: true,
    parameters: {
      type: "object",
      properties: { city: { type: "string", maxLength: 20 }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
      required: ["city", "unit"], additionalProperties: false,
    },
  };
  const time = { type: "function", name: "get_time", parameters: { type: "object", properties: { zone: { type: "string", maxLength: 8 } }, required: ["zone"] } };
  const input = "What is the weather in Oslo?";
  const shape = (r) => ({ id: r.id, status: r.status, output: r.output, text: r.output_text, usage: r.usage, toolChoice: r.tool_choice, tools: r.tools });

  await attempt("required", async () => shape(await client.responses.create({
    model, input, tools: [weather, time], tool_choice: "required", parallel_tool_calls: false, max_output_tokens: 120,
  })));

  // The stream helper assembles the events into finalResponse(); what each event said is kept to check against it.
  await attempt("namedStream", async () => {
    const stream = client.responses.stream({
      model, input, tools: [weather, time], tool_choice: { type: "function", name: "get_weather" }, max_output_tokens: 120,
    });
    const events = [];
    for await (const event of stream) {
      events.push({
        type: event.type, sequence: event.sequence_number, outputIndex: event.output_index ?? null, itemId: event.item_id ?? event.item?.id ?? null,
        item: event.item ?? null, delta: event.delta ?? null, arguments: event.arguments ?? null,
      });
    }
    return { events, ...shape(await stream.finalResponse()) };
  });

  // The call and its output go back as the SDK gave them, and the model answers in text.
  await attempt("roundTrip", async () => {
    const first = await client.responses.create({ model, input, tools: [weather], tool_choice: "required", max_output_tokens: 120 });
    const calls = first.output.filter((item) => item.type === "function_call");
    const second = await client.responses.create({
      // tool_choice none: these random weights would otherwise open another call as readily as text.
      model, tools: [weather], tool_choice: "none", max_output_tokens: 4, temperature: 0,
      input: [{ role: "user", content: input }, ...first.output, ...calls.map((c) => ({ type: "function_call_output", call_id: c.call_id, output: "12 degrees" }))],
    });
    return { first: shape(first), second: shape(second) };
  });

  await attempt("unknownCallId", () => client.responses.create({
    model, tools: [weather], max_output_tokens: 2,
    input: [{ role: "user", content: input }, { type: "function_call_output", call_id: "call_nobody_made", output: "12 degrees" }],
  }));
  await attempt("callIdNotString", () => client.responses.create({
    model, tools: [weather], max_output_tokens: 2,
    input: [{ role: "user", content: input }, { type: "function_call", call_id: 7, name: "get_weather", arguments: "{}" }],
  }));
  await attempt("webSearch", () => client.responses.create({ model, input, max_output_tokens: 2, tools: [weather, { type: "web_search" }] }));
  await attempt("badChoice", () => client.responses.create({ model, input, max_output_tokens: 2, tools: [weather], tool_choice: { type: "function", name: "get_time" } }));
  await attempt("chatChoice", () => client.responses.create({
    model, input, max_output_tokens: 2, tools: [weather], tool_choice: { type: "function", function: { name: "get_weather" } },
  }));
}

// Stored responses: create one (store left at its default, true), send its message back by hand as an item_reference,
// retrieve both (whole and streamed), and see that store: false keeps nothing and another tenant reaches neither.
async function stored(baseURL, apiKey, otherKey) {
  const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
  const other = new OpenAI({ baseURL, apiKey: otherKey, maxRetries: 0 });
  const model = "demo";
  const first = await client.responses.create({ model, input: "Say something about tokens.", max_output_tokens: 6, temperature: 0 });
  const reference = (id) => [
    { role: "user", content: "Say something about tokens." }, { type: "item_reference", id }, { role: "user", content: "And more?" },
  ];
  const written = [
    { role: "user", content: "Say something about tokens." }, { role: "assistant", content: first.output_text }, { role: "user", content: "And more?" },
  ];
  await attempt("first", async () => first);
  await attempt("referenced", async () => await client.responses.create({ model, input: reference(first.output[0].id), max_output_tokens: 6, temperature: 0 }));
  // The same conversation with the text written out: the same prompt, so the same input tokens.
  await attempt("written", async () => await client.responses.create({ model, input: written, max_output_tokens: 6, temperature: 0, store: false }));
  await attempt("retrieved", async () => await client.responses.retrieve(first.id));
  await attempt("streamed", async () => {
    const stream = client.responses.stream({ model, input: "Tokens?", max_output_tokens: 4, temperature: 0 });
    const final = await stream.finalResponse();
    return { final, retrieved: await client.responses.retrieve(final.id) };
  });
  await attempt("unstored", async () => {
    const r = await client.responses.create({ model, input: "Tokens?", max_output_tokens: 2, store: false });
    return { store: r.store, retrieve: await failing(() => client.responses.retrieve(r.id)),
      reference: await failing(() => client.responses.create({ model, input: reference(r.output[0].id), max_output_tokens: 2 })) };
  });
  await attempt("otherTenant", async () => ({
    retrieve: await failing(() => other.responses.retrieve(first.id)),
    reference: await failing(() => other.responses.create({ model, input: reference(first.output[0].id), max_output_tokens: 2 })),
  }));
  await attempt("unknown", async () => failing(() => client.responses.create({ model, input: reference("msg_0123456789abcdef01234567"), max_output_tokens: 2 })));
  // Deleted: another tenant cannot; the owner can, once, and then neither retrieve nor reference finds it.
  await attempt("deleted", async () => ({
    other: await failing(() => other.responses.delete(first.id)),
    deleted: await client.responses.delete(first.id).asResponse().then((r) => r.json()),
    again: await failing(() => client.responses.delete(first.id)),
    retrieve: await failing(() => client.responses.retrieve(first.id)),
    reference: await failing(() => client.responses.create({ model, input: reference(first.output[0].id), max_output_tokens: 2 })),
  }));
}

async function failing(call) {
  try {
    await call();
    return { failed: false };
  } catch (e) {
    return { status: e.status ?? null, param: e.param ?? e.error?.param ?? null, code: e.code ?? null, message: e.message };
  }
}
