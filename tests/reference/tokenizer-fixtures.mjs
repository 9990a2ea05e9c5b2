// Regenerates the tokenizer parity fixtures from Hugging Face's own tokenizers (the Node binding of the Rust
// library). Run from the reference tools folder (scripts/reference-tools.sh copies it there):
//   node tokenizer-fixtures.mjs <output folder>
// Writes corpus.json.gz (the strings), one <family>.json.gz per real tokenizer.json with, for every string, the
// ids of encode(text, add_special_tokens = true and false) and decode(ids, skip_special_tokens = false and true)
// of both, and components.json.gz (small hand-written tokenizer.json files that exercise what the real files
// do not, with their expected results).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import tokenizers from 'tokenizers';
import { buildCorpus, encodeCorpusEntry, families, tokenizerPath } from './tokenizer-corpus.mjs';
import { componentCases } from './tokenizer-components.mjs';

const { Tokenizer } = tokenizers;
const output = process.argv[2];
if (!output) {
  console.error('usage: node tokenizer-fixtures.mjs <output folder>');
  process.exit(2);
}
fs.mkdirSync(output, { recursive: true });

function write(name, value) {
  const file = path.join(output, name);
  fs.writeFileSync(file, zlib.gzipSync(JSON.stringify(value), { level: 9 }));
  console.log(`${name}: ${fs.statSync(file).size} bytes`);
}

/** encode then decode both ways, with and without special tokens. */
async function expected(tokenizer, text) {
  const withSpecial = Array.from((await tokenizer.encode(text, null, { addSpecialTokens: true })).getIds());
  const withoutSpecial = Array.from((await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds());
  return [
    withSpecial,
    withoutSpecial,
    await tokenizer.decode(withSpecial, false),
    await tokenizer.decode(withSpecial, true),
    await tokenizer.decode(withoutSpecial, false),
    await tokenizer.decode(withoutSpecial, true),
  ];
}

const corpus = buildCorpus();
write('corpus.json.gz', corpus.map(encodeCorpusEntry));

for (const family of families) {
  const tokenizer = Tokenizer.fromFile(tokenizerPath(family));
  const cases = [];
  for (const text of corpus) cases.push(await expected(tokenizer, text));
  write(`${family}.json.gz`, { family, reference: 'tokenizers 0.23.2', cases });
}

const components = [];
for (const { name, tokenizer: json, texts } of componentCases()) {
  const tokenizer = Tokenizer.fromString(JSON.stringify(json));
  const cases = [];
  for (const text of texts) cases.push([text, ...(await expected(tokenizer, text))]);
  components.push({ name, tokenizer: json, cases });
}
write('components.json.gz', components);
