// Tool calling and structured outputs through the official `openai` npm package, a second real client. Usage:
//   node openai-tools.mjs BASE_URL API_KEY MODEL
// Runs a fixed set of calls and prints one JSON object with what each returned, for
// tests/TokenGrid.Silo.Tests/RealModelFolderTests.Tools.cs to assert on.
import OpenAI from "openai";
import { attempt, report } from "./attempts.mjs";

const [baseURL, apiKey, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const tools = [{
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city.",
    parameters: {
      type: "object",
      properties: { city: { type: "string", maxLength: 20 }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
      required: ["city", "unit"],
      additionalProperties: false,
    },
  },
}];
const messages = [{ role: "user", content: "What is the weather in Oslo?" }];

await attempt("required", async () => {
  const r = await client.chat.completions.create({ model, messages, tools, tool_choice: "required", max_tokens: 80, seed: 3 });
  return { finish: r.choices[0].finish_reason, content: r.choices[0].message.content, calls: r.choices[0].message.tool_calls };
});

await attempt("namedStream", async () => {
  const stream = await client.chat.completions.create({
    model, messages, tools, tool_choice: { type: "function", function: { name: "get_weather" } }, max_tokens: 80, seed: 4, stream: true,
  });
  const calls = [];
  let finish = null;
  let maxEntries = 0;
  for await (const chunk of stream) {
    maxEntries = Math.max(maxEntries, chunk.choices[0]?.delta?.tool_calls?.length ?? 0);
    for (const delta of chunk.choices[0]?.delta?.tool_calls ?? []) {
      calls[delta.index] ??= { id: "", name: "", arguments: "" };
      calls[delta.index].id += delta.id ?? "";
      calls[delta.index].name += delta.function?.name ?? "";
      calls[delta.index].arguments += delta.function?.arguments ?? "";
    }
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  return { finish, calls, maxEntries };
});

// The SDK's stream helper, whose events follow the chunks: a call's argument deltas, then its done.
await attempt("streamHelper", async () => {
  const events = [];
  const stream = client.chat.completions.stream({ model, messages, tools, tool_choice: "required", max_tokens: 80, seed: 7 });
  stream.on("tool_calls.function.arguments.delta", (e) => events.push({ kind: "delta", index: e.index, text: e.arguments_delta }));
  stream.on("tool_calls.function.arguments.done", (e) => events.push({ kind: "done", index: e.index, text: e.arguments }));
  const final = await stream.finalChatCompletion();
  return { events, calls: final.choices[0].message.tool_calls.map((c) => c.function.arguments) };
});

await attempt("secondTurn", async () => {
  const first = await client.chat.completions.create({ model, messages, tools, tool_choice: "required", max_tokens: 80, seed: 5 });
  const call = first.choices[0].message.tool_calls[0];
  const r = await client.chat.completions.create({
    model, tools, max_tokens: 4, temperature: 0,
    messages: [...messages, { role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: call.id, content: "12 degrees" }],
  });
  return { finish: r.choices[0].finish_reason, usage: r.usage };
});

await attempt("jsonSchema", async () => {
  const r = await client.chat.completions.create({
    model, messages, max_tokens: 80, seed: 6,
    response_format: { type: "json_schema", json_schema: { name: "weather", strict: true, schema: tools[0].function.parameters } },
  });
  return { finish: r.choices[0].finish_reason, content: r.choices[0].message.content };
});

await attempt("toolChoiceWithoutTools", async () => {
  await client.chat.completions.create({ model, messages, tool_choice: "required", max_tokens: 4 });
  return { ok: true };
});

report();
