/**
 * Drives the whole llmtap with recorded provider exchanges, exporting as a user of the guide's backend would
 * (`OTEL_EXPORTER_OTLP_ENDPOINT=<…>/api/v2/otlp`, `OTEL_EXPORTER_OTLP_HEADERS=Authorization=Api-Token%20<token>`),
 * for the direct-export and contract tests.
 */
import { expect } from 'vitest';
import { rawRequest } from './client.ts';
import type { FakeOtlpBackend } from './fake-otlp-backend.ts';
import { startFullLlmtap, type TestLlmtap } from './llmtap.ts';
import { loadRecordedFixtures, type RecordedFixture, replayHeaders, wireBody } from './recorded.ts';
import { startUpstream } from './upstream.ts';

/** One call per provider family, streaming and not. */
export const backendCalls = [
  { file: 'openai/chat_nonstream_basic.json', prefix: '/openai', provider: 'openai' },
  { file: 'anthropic/messages_stream.json', prefix: '/anthropic', provider: 'anthropic' },
  { file: 'gemini/stream_generate_content.json', prefix: '/gemini', provider: 'gcp.gemini' },
  { file: 'bedrock/invoke_anthropic_claude3.json', prefix: '/bedrock', provider: 'aws.bedrock' },
] as const;

const fixtures = new Map(loadRecordedFixtures().map((f) => [f.file, f]));
export const fixture = (file: string): RecordedFixture => {
  const found = fixtures.get(file);
  if (found === undefined) throw new Error(`missing fixture ${file}`);
  return found;
};

export interface BackendReplay {
  /** Starts llmtap exporting to `backend` with the documented variables (plus `env`). */
  start(backend: FakeOtlpBackend, env?: Record<string, string>): Promise<TestLlmtap>;
  /** Replays one recorded exchange through llmtap; resolves once llmtap has recorded the call. */
  call(app: TestLlmtap, file: string, prefix: string): Promise<void>;
  /** The same, resolving as soon as the app has the provider's last byte. */
  request(app: TestLlmtap, file: string, prefix: string): Promise<void>;
  close(): Promise<void>;
}

export const startBackendReplay = async (): Promise<BackendReplay> => {
  let serving: RecordedFixture | undefined;
  const upstream = await startUpstream((_req, res) => {
    if (serving === undefined) throw new Error('nothing to serve');
    res.writeHead(serving.response.status, replayHeaders(serving));
    res.end(wireBody(serving));
  });
  const prefixes = [...new Set(backendCalls.map((c) => c.prefix))];
  const request = async (app: TestLlmtap, file: string, prefix: string): Promise<void> => {
    const f = fixture(file);
    serving = f;
    const response = await rawRequest(`${app.server.dataUrl}${prefix}${f.request.path}`, {
      method: f.request.method,
      headers: { 'content-type': 'application/json' },
      ...(f.request.body === null ? {} : { body: f.request.body }),
    });
    expect(response.status).toBe(f.response.status);
    expect(response.body.equals(wireBody(f))).toBe(true);
  };

  return {
    start: (backend, env = {}) =>
      startFullLlmtap(
        { routes: prefixes.map((prefix) => ({ prefix, provider: prefix.slice(1), upstream: upstream.url })) },
        {
          OTEL_SERVICE_NAME: 'chat-app',
          OTEL_EXPORTER_OTLP_ENDPOINT: backend.endpoint,
          OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Api-Token%20${backend.token}`,
          OTEL_BSP_SCHEDULE_DELAY: '50',
          OTEL_BLRP_SCHEDULE_DELAY: '50',
          ...env,
        },
      ),
    request,
    async call(app, file, prefix) {
      const logged = app.requestLogs().length;
      await request(app, file, prefix);
      // The call's telemetry is recorded when llmtap writes its request log line, which can come just after
      // the app got its last byte: wait for that line, so a shutdown right after does not race the recording.
      const deadline = Date.now() + 5000;
      while (app.requestLogs().length === logged) {
        if (Date.now() > deadline) throw new Error(`no request log line for ${file}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    close: () => upstream.close(),
  };
};
