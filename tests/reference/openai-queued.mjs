// Whether the official `openai` npm package reads a stream that waited in the queue: with a timeout (which covers the
// wait for the response headers) and no retries, it streams a chat queued behind the job HOLDER, and cancels HOLDER
// once the stream's headers are in, so the keep-alive comments TokenGrid sent meanwhile come before the first chunk.
// HOLDER (8,000 tokens) runs until then, so without headers sent while queued the request would wait out the timeout; 5 s
// leaves room for a loaded test machine (2 s failed now and then when other test classes ran alongside).
// Usage: node openai-queued.mjs BASE_URL API_KEY HOLDER
// Prints { attempts, text, finish, usage } or { attempts, error } for the xunit test
// (tests/TokenGrid.Silo.Tests/QueuedStreamTests.cs).
import OpenAI from "openai";

const [baseURL, apiKey, holder] = process.argv.slice(2);
let attempts = 0;
const counting = (url, init) => {
  attempts++;
  return fetch(url, init);
};
const client = new OpenAI({ baseURL, apiKey, fetch: counting, timeout: 5000, maxRetries: 0 });

let result;
try {
  const stream = await client.chat.completions.create({
    model: "demo",
    messages: [{ role: "user", content: "q" }],
    max_tokens: 5,
    ignore_eos: true,
    stream: true,
    stream_options: { include_usage: true },
  });
  await fetch(`${baseURL}/jobs/${holder}/cancel`, { method: "POST", headers: { Authorization: "Bearer " + apiKey } });
  let text = "";
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? "";
    finish = chunk.choices[0]?.finish_reason ?? finish;
    usage = chunk.usage ?? usage;
  }
  result = { attempts, text, finish, usage };
} catch (e) {
  result = { attempts, error: String(e) };
}

console.log(JSON.stringify(result));
