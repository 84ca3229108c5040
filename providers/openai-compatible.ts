/**
 * Any other OpenAI-dialect server (vLLM, llama.cpp, LM Studio, HF router…); routes may set their own
 * `gen_ai.provider.name`. Injection on by default (vLLM/llama.cpp accept it); `streamUsage: passthrough`
 * turns it off for a server that rejects it.
 */
import { openAiDialect } from './openai-dialect.ts';

export const openaiCompatible = openAiDialect({
  id: 'openai-compatible',
  providerName: 'openai',
  injectUsage: true,
});
