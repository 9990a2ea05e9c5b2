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
