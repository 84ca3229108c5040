/**
 * Azure OpenAI: the OpenAI dialect on `/openai/deployments/{deployment}/…?api-version=…` (the request
 * model is the body's `model` as the client named it, else the deployment; the response names the real
 * model) and on the `/openai/v1/…` path. Content-filter results are read (see openai-safety.ts).
 * Streaming usage is injected on chat completions where Azure accepts `stream_options`: api-version
 * 2024-09-01-preview and later (GA 2024-10-21 and later) and the v1 API; older api-versions reject the member
 * with a 400, so their requests pass untouched (and their streams report no tokens).
 */
import { defineAdapter, type ProviderAdapter, type RequestTarget } from '../src/adapter.ts';
import { decodeSegment, str, trimPath } from './common.ts';
import { openAiDialect } from './openai-dialect.ts';
import { openAiApiFor, parseOpenAiRequest } from './openai-request.ts';
import { openAiRealtime } from './realtime.ts';
import { openAiStreamUsage } from './stream-usage.ts';

const DEPLOYMENT = /\/openai\/deployments\/([^/]+)\//;

const base = openAiDialect({
  id: 'azure-openai',
  providerName: 'azure.ai.openai',
  injectUsage: false,
  contentFilters: true,
});

/** The first api-version whose chat completions accept `stream_options` (2024-09-01-preview). */
export const AZURE_STREAM_OPTIONS_SINCE = '2024-09-01';
const API_VERSION = /^\d{4}-\d{2}-\d{2}(?:-preview)?$/;
const V1_PATH = /\/openai\/v1\/chat\/completions$/;

/** Whether this Azure request's API accepts `stream_options` (unknown versions: no). */
export const azureAcceptsStreamOptions = (target: RequestTarget): boolean => {
  const path = trimPath(target.path);
  if (openAiApiFor(target) !== 'chat') return false;
  if (V1_PATH.test(path)) return true;
  const version = target.query.get('api-version');
  return version !== null && API_VERSION.test(version) && version.slice(0, 10) >= AZURE_STREAM_OPTIONS_SINCE;
};

export const azureOpenAi: ProviderAdapter = defineAdapter({
  ...base,
  realtime: openAiRealtime,
  streamUsage: {
    patchRequest: (body, target) =>
      target !== undefined && azureAcceptsStreamOptions(target)
        ? openAiStreamUsage.patchRequest(body, target)
        : undefined,
    createResponseFilter: openAiStreamUsage.createResponseFilter,
  },
  parseRequest(_operation, target, body, options) {
    const deployment = DEPLOYMENT.exec(trimPath(target.path))?.[1];
    const model = deployment === undefined ? undefined : str(decodeSegment(deployment));
    return parseOpenAiRequest(openAiApiFor(target) ?? 'chat', body, options, model);
  },
});
