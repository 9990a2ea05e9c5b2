// Times Hugging Face's tokenizers (the Node binding of the Rust library) over the parity corpus, for the
// `tokenizer` benchmark scenario: node tokenizer-bench.mjs [seconds per measurement] [families...]
// Prints one JSON object: per family, the tokens of one pass and tokens/s for encodeBatch (the Rust library
// spreads a batch over all cores) and for one awaited encode per string (the binding's per-call cost included).
import tokenizers from 'tokenizers';
import { buildCorpus, families as allFamilies, tokenizerPath } from './tokenizer-corpus.mjs';

const { Tokenizer } = tokenizers;
const seconds = Number(process.argv[2] ?? 2);
const families = process.argv.length > 3 ? process.argv.slice(3) : allFamilies;
const corpus = buildCorpus();
const options = { addSpecialTokens: false };

/** Best tokens/s of repeated passes over at least `seconds`. */
async function measure(pass, tokens) {
  await pass();
  let best = 0;
  const until = performance.now() + seconds * 1000;
  do {
    const start = performance.now();
    await pass();
    best = Math.max(best, tokens / ((performance.now() - start) / 1000));
  } while (performance.now() < until);
  return best;
}

const results = {};
for (const family of families) {
  const tokenizer = Tokenizer.fromFile(tokenizerPath(family));
  const encodings = await tokenizer.encodeBatch(corpus, options);
  const tokens = encodings.reduce((sum, e) => sum + e.getIds().length, 0);
  const batch = await measure(() => tokenizer.encodeBatch(corpus, options), tokens);
  const perCall = await measure(async () => {
    for (const text of corpus) await tokenizer.encode(text, null, options);
  }, tokens);
  results[family] = { tokens, batch_tokens_per_s: batch, call_tokens_per_s: perCall };
}
console.log(JSON.stringify(results));
