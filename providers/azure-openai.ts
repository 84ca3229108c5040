/**
 * Azure OpenAI: the OpenAI dialect on `/openai/deployments/{deployment}/…?api-version=…` (the request
 * model is the body's `model` as the client named it, else the deployment; the response names the real
 * model) and on the `/openai/v1/…` path.
 * No usage injection: api-versions before 2024-09-01-preview reject `stream_options`, and `patchRequest`
 * cannot see the api-version.
 */
import { defineAdapter, type ProviderAdapter } from '../src/adapter.ts';
import { decodeSegment, str, trimPath } from './common.ts';
import { openAiDialect } from './openai-dialect.ts';
import { openAiApiFor, parseOpenAiRequest } from './openai-request.ts';
import { openAiRealtime } from './realtime.ts';

const DEPLOYMENT = /\/openai\/deployments\/([^/]+)\//;

const base = openAiDialect({
  id: 'azure-openai',
  providerName: 'azure.ai.openai',
  injectUsage: false,
  contentFilters: true,
});

export const azureOpenAi: ProviderAdapter = defineAdapter({
  ...base,
  realtime: openAiRealtime,
  parseRequest(_operation, target, body, options) {
    const deployment = DEPLOYMENT.exec(trimPath(target.path))?.[1];
    const model = deployment === undefined ? undefined : str(decodeSegment(deployment));
    return parseOpenAiRequest(openAiApiFor(target) ?? 'chat', body, options, model);
  },
});
