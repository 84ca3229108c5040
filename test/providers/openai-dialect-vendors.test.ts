/**
 * Every OpenAI-compatible vendor adapter is the shared dialect with its own name and injection choice: each
 * gets the same synthesised-stream edge cases on its usual path, plus its configuration checked.
 */
import { describe, expect, it } from 'vitest';
import { openAiStreamUsage } from '../../providers/stream-usage.ts';
import type { ProviderAdapter } from '../../src/adapter.ts';
import { describeStreamEdgeCases } from './edge-cases.ts';
import { adapter } from './helpers.ts';
import { openAiChatScenario } from './scenarios.ts';

/** `by-target`: injects only where the request's path/api-version accepts `stream_options`. */
const VENDORS: readonly (readonly [id: string, path: string, injects: boolean | 'by-target'])[] = [
  ['azure-openai', '/openai/deployments/gpt4o/chat/completions', 'by-target'],
  ['mistral', '/v1/chat/completions', false],
  ['groq', '/openai/v1/chat/completions', false],
  ['deepseek', '/chat/completions', false],
  ['together', '/v1/chat/completions', false],
  ['openrouter', '/api/v1/chat/completions', false],
  ['xai', '/v1/chat/completions', true],
  ['openai-compatible', '/v1/chat/completions', true],
  ['ollama', '/v1/chat/completions', 'by-target'],
];

for (const [id, path] of VENDORS) describeStreamEdgeCases(openAiChatScenario(id, path));

describe('OpenAI-dialect vendor configuration', () => {
  it.each(VENDORS)('%s: usage injection only where the vendor accepts it', (id, _path, injects) => {
    const vendor: ProviderAdapter = adapter(id);
    if (injects === 'by-target') {
      expect(vendor.streamUsage?.createResponseFilter).toBe(openAiStreamUsage.createResponseFilter);
      // Without the target it cannot tell, so it leaves the request alone.
      expect(vendor.streamUsage?.patchRequest({ stream: true, messages: [] })).toBeUndefined();
    } else expect(vendor.streamUsage).toBe(injects ? openAiStreamUsage : undefined);
  });
});
