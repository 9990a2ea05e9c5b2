// Checks a TokenGrid spend webhook's signature with Stripe's own verifier (the official `stripe` npm package), whose
// scheme TokenGrid's follows: header "t=UNIX-SECONDS,v1=HEX", HEX being the HMAC-SHA256 of "t.body" keyed with the
// secret. Usage:
//   node webhook-verify.mjs BODY_FILE SIGNATURE_HEADER SECRET
// Prints {"ok": true, "id": ...} when Stripe's verifier accepts the post, {"ok": false, "error": ...} when it refuses it.
import { readFileSync } from "node:fs";
import Stripe from "stripe";

const [bodyFile, header, secret] = process.argv.slice(2);
const stripe = new Stripe("sk_test_unused");
try {
  const event = stripe.webhooks.constructEvent(readFileSync(bodyFile), header, secret, 300);
  console.log(JSON.stringify({ ok: true, id: event.id }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: e.message }));
}
