/**
 * A Node app instrumented the way OpenLLMetry-JS tells users to: the OTel Node SDK exporting spans over
 * OTLP/HTTP protobuf, `@traceloop/instrumentation-openai` patching the `openai` SDK (v6: the instrumentation
 * supports openai >=4 <7; `manuallyInstrument` is its documented path for ESM apps). Its `fetch` injects the
 * active trace context, as `@opentelemetry/instrumentation-undici` does in apps that load it, so llmtap sees the
 * SDK span as the parent. Run by coexistence tests as a child process.
 *
 * argv: a JSON list of calls `{ baseURL, model, stream }`; env: the standard OTEL_* variables.
 * Prints one JSON line per call (`{ content, usage }`), then `done` after the SDK flushed its spans.
 */
import { context, propagation } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OpenAIInstrumentation } from '@traceloop/instrumentation-openai';
import OpenAI from 'openai-v6';

interface Call {
  readonly baseURL: string;
  readonly model: string;
  readonly stream: boolean;
}

const calls = JSON.parse(process.argv[2] ?? '[]') as Call[];
const sdk = new NodeSDK();
sdk.start();
// After start(): the instrumentation takes its tracer from the global provider the SDK just registered.
const instrumentation = new OpenAIInstrumentation();
instrumentation.manuallyInstrument(OpenAI);

const tracingFetch: typeof fetch = (input, init) => {
  const headers = new Headers(init?.headers);
  propagation.inject(context.active(), headers, {
    set: (carrier, key, value) => carrier.set(key, value),
  });
  return fetch(input, { ...init, headers });
};

for (const call of calls) {
  const client = new OpenAI({ baseURL: call.baseURL, apiKey: 'sk-test-coexistence', fetch: tracingFetch });
  const request = { model: call.model, messages: [{ role: 'user' as const, content: 'Say hi' }] };
  if (call.stream) {
    const stream = await client.chat.completions.create({ ...request, stream: true });
    let content = '';
    for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? '';
    process.stdout.write(`${JSON.stringify({ content })}\n`);
  } else {
    const completion = await client.chat.completions.create(request);
    process.stdout.write(
      `${JSON.stringify({ content: completion.choices[0]?.message.content, usage: completion.usage })}\n`,
    );
  }
}
await sdk.shutdown();
process.stdout.write('done\n');
