// What the reference client scripts share: run named calls, keep what each returned (or the error the SDK raised, with
// its status, param and code), and print them all as one JSON object for the xunit test to assert on.
export const out = {};

export async function attempt(name, call) {
  try {
    out[name] = await call();
  } catch (e) {
    out[name] = { error: { status: e.status ?? null, param: e.param ?? e.error?.param ?? null, code: e.code ?? null, message: e.message, requestId: e.requestID ?? null } };
  }
}

export function report() {
  process.stdout.write(JSON.stringify(out));
}

// Holds the only slot of a tenant whose max_concurrent_jobs is 1 with a stream of its own, so that its next request is a
// 429 with Retry-After. Returns release(), which ends the stream. The stream asks for 4,000 tokens (the test's server gives the model
// the context), which take seconds however fast the machine: 400 ran out within 3 s on a quiet one, and freed the slot
// before the client's last retry.
export async function holdOnlySlot(baseURL, key) {
  const holder = new AbortController();
  const held = await fetch(baseURL + "/chat/completions", {
    method: "POST", signal: holder.signal, headers: { Authorization: "Bearer " + key, "Content-Type": "application/json" },
    body: JSON.stringify({ model: "demo", messages: [{ role: "user", content: "hold" }], max_tokens: 4000, ignore_eos: true, stream: true }),
  });
  if (held.status !== 200) throw new Error(`the holding stream got ${held.status}: ${await held.text()}`);
  const reader = held.body.getReader();
  await reader.read();
  return async () => {
    holder.abort();
    await reader.cancel().catch(() => {});
  };
}

// A fetch that notes each attempt's time, status and Retry-After in sent, for a client's retries to be read.
export const countingFetch = (sent) => async (url, init) => {
  const response = await fetch(url, init);
  sent.push({ at: Date.now(), status: response.status, retryAfter: response.headers.get("retry-after") });
  return response;
};
