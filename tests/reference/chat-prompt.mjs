// Renders a conversation with a model folder's own chat template the way transformers' apply_chat_template does
// (@huggingface/jinja, add_generation_prompt true, the tokenizer_config.json special tokens in the context), then
// tokenizes the prompt with Hugging Face's tokenizers without adding special tokens (the template holds them).
// Usage: node chat-prompt.mjs MODEL_DIR CONVERSATION_JSON  ->  {"text": "...", "ids": [...]} on stdout.
// CONVERSATION_JSON holds {"messages": [...], "tools": [...]?}. Run from the reference tools folder.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Template } from "@huggingface/jinja";
import tokenizers from "tokenizers";

const [dir, conversationFile] = process.argv.slice(2);
const config = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8"));
const conversation = JSON.parse(readFileSync(conversationFile, "utf8"));
const token = (t) => (t && typeof t === "object" ? t.content : t);
const template = typeof config.chat_template === "string"
  ? config.chat_template
  : config.chat_template.find((t) => t.name === (conversation.tools ? "tool_use" : "default")).template;
const context = {
  messages: conversation.messages,
  add_generation_prompt: true,
  bos_token: token(config.bos_token),
  eos_token: token(config.eos_token),
  unk_token: token(config.unk_token),
  pad_token: token(config.pad_token),
};
if (conversation.tools) context.tools = conversation.tools;
const text = new Template(template).render(context);
const tokenizer = tokenizers.Tokenizer.fromFile(join(dir, "tokenizer.json"));
const encoding = await tokenizer.encode(text, null, { addSpecialTokens: false });
process.stdout.write(JSON.stringify({ text, ids: Array.from(encoding.getIds()) }));
