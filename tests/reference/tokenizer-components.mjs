// Small hand-written tokenizer.json files that exercise what the real files do not (Split behaviours, Metaspace
// prepend schemes, added-token options, normalizers, decoders), each with the texts to run through it.

/** GPT-2's bytes_to_unicode: every byte as a visible character. */
function byteChars() {
  const printable = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map = new Map(printable.map((b) => [b, String.fromCharCode(b)]));
  let next = 0;
  for (let b = 0; b < 256; b++) if (!map.has(b)) map.set(b, String.fromCharCode(256 + next++));
  return map;
}

const merges = [['h', 'e'], ['l', 'l'], ['ll', 'o'], ['he', 'llo'], ['w', 'o'], ['wo', 'r'], ['wor', 'l'], ['worl', 'd'], ['t', 'h'], ['th', 'e'], ['1', '2']];

function byteLevelModel(options = {}) {
  const vocab = {};
  for (const c of byteChars().values()) vocab[c] = Object.keys(vocab).length;
  const all = [...merges, ['Ġ', 'hello'], ['Ġ', 'world'], ['Ġ', 'the']];
  for (const [a, b] of all) if (!(a + b in vocab)) vocab[a + b] = Object.keys(vocab).length;
  return { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: all.map(([a, b]) => `${a} ${b}`), ...options };
}

function metaspaceModel(options = {}) {
  const vocab = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = Object.keys(vocab).length;
  for (const c of '▁abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?-\'') vocab[c] = Object.keys(vocab).length;
  const all = [...merges, ['▁', 'hello'], ['▁', 'world'], ['▁', 'the'], ['▁', '▁']];
  for (const [a, b] of all) if (!(a + b in vocab)) vocab[a + b] = Object.keys(vocab).length;
  return { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, vocab, merges: all.map(([a, b]) => [a, b]), ...options };
}

function added(id, content, options = {}) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true, ...options };
}

const byteLevelDecoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
const metaspaceDecoder = { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] };
const bos = {
  type: 'TemplateProcessing',
  single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
  pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
  special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
};

function byteLevel({ normalizer = null, pre_tokenizer, decoder = byteLevelDecoder, post_processor = null, added_tokens = [], model = {} }) {
  return { version: '1.0', truncation: null, padding: null, added_tokens, normalizer, pre_tokenizer, post_processor, decoder, model: byteLevelModel(model) };
}

function metaspace({ normalizer = null, pre_tokenizer = null, decoder = metaspaceDecoder, post_processor = bos, added_tokens = null, model = {} }) {
  const tokens = added_tokens ?? [added(0, '<unk>'), added(1, '<s>'), added(2, '</s>')];
  return { version: '1.0', truncation: null, padding: null, added_tokens: tokens, normalizer, pre_tokenizer, post_processor, decoder, model: metaspaceModel(model) };
}

const bl = (extra) => ({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false, ...extra });
const split = (pattern, behavior, invert = false) => ({ type: 'Split', pattern, behavior, invert });
const seq = (...pretokenizers) => ({ type: 'Sequence', pretokenizers });
const texts = [
  '', ' ', 'hello world', ' hello  world ', 'hello,world!! the end.', 'Hello WORLD 12345 x1y22z', 'a-b--c', 'tab\there\nnew  line',
  'héllo wörld 你好 🎉', '<s>hello</s>', 'hello<s> world </s> x', ' <s> ', '<extra>hello', 'hello <extra> world', 'hello<extra>world',
  'x<extra> y', 'the<mark>the <mark> the', ' <mark>', 'it\'s 3.14 -- ok?', '  lead', 'trail  ', '▁hello ▁', 'ﬁ ① Ⅻ ＡＢＣ',
];

export function componentCases() {
  const cases = [];
  const add = (name, tokenizer) => cases.push({ name, tokenizer, texts });
  for (const behavior of ['Isolated', 'Removed', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous']) {
    for (const invert of [false, true]) {
      add(`split-string-${behavior}-${invert}`, byteLevel({ pre_tokenizer: seq(split({ String: ' ' }, behavior, invert), bl()) }));
      add(`split-regex-${behavior}-${invert}`, byteLevel({ pre_tokenizer: seq(split({ Regex: '\\s+|[0-9]' }, behavior, invert), bl()) }));
    }
  }
  add('bytelevel-prefix-space', byteLevel({ pre_tokenizer: bl({ add_prefix_space: true, use_regex: true }) }));
  add('bytelevel-no-regex', byteLevel({ pre_tokenizer: bl({ use_regex: false }) }));
  add('digits-individual', byteLevel({ pre_tokenizer: seq({ type: 'Digits', individual_digits: true }, bl()) }));
  add('digits-grouped', byteLevel({ pre_tokenizer: seq({ type: 'Digits', individual_digits: false }, bl()) }));
  add('punctuation', byteLevel({ pre_tokenizer: seq({ type: 'Punctuation', behavior: 'Isolated' }, bl()) }));
  add('punctuation-contiguous', byteLevel({ pre_tokenizer: seq({ type: 'Punctuation', behavior: 'Contiguous' }, bl()) }));
  add('whitespace', byteLevel({ pre_tokenizer: seq({ type: 'Whitespace' }, bl()) }));
  add('whitespace-split', byteLevel({ pre_tokenizer: seq({ type: 'WhitespaceSplit' }, bl()) }));
  add('normalizers', byteLevel({
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Strip', strip_left: true, strip_right: true }, { type: 'Lowercase' }, { type: 'Replace', pattern: { Regex: '[0-9]+' }, content: '#' }] },
    pre_tokenizer: bl({ use_regex: true }),
  }));
  add('nfc', byteLevel({ normalizer: { type: 'NFC' }, pre_tokenizer: bl({ use_regex: true }) }));
  add('nfd', byteLevel({ normalizer: { type: 'NFD' }, pre_tokenizer: bl({ use_regex: true }) }));
  add('nfkc', byteLevel({ normalizer: { type: 'NFKC' }, pre_tokenizer: bl({ use_regex: true }) }));
  add('strip-left', byteLevel({ normalizer: { type: 'Strip', strip_left: true, strip_right: false }, pre_tokenizer: bl({ use_regex: true }) }));
  add('ignore-merges', byteLevel({ pre_tokenizer: bl({ use_regex: true }), model: { ignore_merges: true } }));
  const extra = (options) => byteLevel({
    pre_tokenizer: bl({ use_regex: true }),
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    added_tokens: [added(300, '<extra>', options), added(301, '<mark>', { ...options, special: false }), added(302, '<s>', { special: true })],
  });
  for (const [label, options] of Object.entries({
    plain: {}, lstrip: { lstrip: true }, rstrip: { rstrip: true }, both: { lstrip: true, rstrip: true }, 'single-word': { single_word: true },
    normalized: { normalized: true }, 'single-word-lstrip': { single_word: true, lstrip: true },
  })) {
    add(`added-${label}`, extra(options));
  }
  add('added-normalized-lowercase', byteLevel({
    normalizer: { type: 'Lowercase' }, pre_tokenizer: bl({ use_regex: true }),
    added_tokens: [added(300, '<Extra>', { normalized: true }), added(301, '<mark>', { normalized: false, special: false })],
  }));
  for (const scheme of ['first', 'always', 'never']) {
    for (const splitWords of [true, false]) {
      add(`metaspace-${scheme}-${splitWords}`, metaspace({
        pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: scheme, split: splitWords },
        decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: scheme, split: splitWords },
      }));
    }
  }
  add('llama-style', metaspace({ normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] } }));
  add('llama-style-no-fuse', metaspace({
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    model: { fuse_unk: false, byte_fallback: false },
  }));
  add('unk-fused', metaspace({ pre_tokenizer: { type: 'WhitespaceSplit' }, model: { byte_fallback: false } }));
  add('byte-fallback-ignore-merges', metaspace({ pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true }, model: { ignore_merges: true } }));
  add('decoder-strip-replace', metaspace({
    normalizer: { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
    decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: '_' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: '_', start: 2, stop: 0 }] },
  }));
  add('template-bos-eos', byteLevel({ pre_tokenizer: bl({ use_regex: true }), post_processor: { ...bos, special_tokens: { '<s>': { id: '<s>', ids: [300], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [301], tokens: ['</s>'] } } }, added_tokens: [added(300, '<s>'), added(301, '</s>')] }));
  return cases;
}
