// Whether the official `openai` npm package, at its default retries (maxRetries 2: it retries 408, 409, 429 and every
// 5xx unless the reply's `x-should-retry` says otherwise), sends a request again that TokenGrid answered with a final
// failure. Usage:
//   node openai-retries.mjs BASE_URL API_KEY cancel   a chat whose job the tenant cancels while it waits in the queue
//   node openai-retries.mjs BASE_URL API_KEY plain    a long completion (for a server whose job timeout cuts it)
//   node openai-retries.mjs BASE_URL API_KEY chat     a short chat (for a server that fails it, e.g. its database refuses)
//   node openai-retries.mjs BASE_URL API_KEY completion MAX_TOKENS   a completion of "Hi" asking for MAX_TOKENS tokens
//                                                     (for a tenant whose quota, spend cap or rate limit refuses it)
// Prints { attempts, requestIds, error } for the xunit tests (tests/TokenGrid.Silo.Tests/RetryHintTests.cs, Database/PostgresFaultTests.cs).
import OpenAI from "openai";

const [baseURL, apiKey, mode, maxTokens] = process.argv.slice(2);
let attempts = 0;
const requestIds = [];
const counting = async (url, init) => {
  attempts++;
  const response = await fetch(url, init);
  requestIds.push(response.headers.get("x-request-id"));
  return response;
};
const client = new OpenAI({ baseURL, apiKey, fetch: counting });
const headers = { Authorization: "Bearer " + apiKey };

let cancelled = null;
let polling = null;
if (mode === "cancel") {
  // The tenant cancels the chat's job once, as soon as it is listed as queued.
  polling = setInterval(async () => {
    if (cancelled) return;
    const page = await fetch(baseURL + "/jobs?limit=5", { headers }).then((r) => r.json());
    const job = page.data.find((j) => j.status === "queued");
    if (job && !cancelled) {
      cancelled = job.id;
      await fetch(baseURL + `/jobs/${job.id}/cancel`, { method: "POST", headers });
    }
  }, 50);
}

let error = null;
try {
  if (mode === "cancel") {
    await client.chat.completions.create({ model: "demo", messages: [{ role: "user", content: "wait" }], max_tokens: 50, ignore_eos: true });
  } else if (mode === "completion") {
    await client.completions.create({ model: "demo", prompt: "Hi", max_tokens: Number(maxTokens) });
  } else if (mode === "chat") {
    await client.chat.completions.create({ model: "demo", messages: [{ role: "user", content: "Hi" }], max_tokens: 2 });
  } else {
    // 4,000 tokens take seconds however fast the machine: the job cannot end within the server's one-second timeout,
    // even when it gets the slot at once.
    await client.completions.create({ model: "demo", prompt: "a long one", max_tokens: 4000, ignore_eos: true });
  }
} catch (e) {
  error = { status: e.status ?? null, code: e.code ?? null, type: e.type ?? null, requestId: e.requestID ?? null, message: e.message };
}
clearInterval(polling);
process.stdout.write(JSON.stringify({ attempts, requestIds, error, cancelled }));
