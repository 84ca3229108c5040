/**
 * The live view in a real browser (#18): Debian's chromium driven by playwright-core (no browser download), the
 * whole llmtap in-process, the real `openai` and `@anthropic-ai/sdk` clients calling a local fake upstream (JSON,
 * streaming, an error). Asserts on the page's DOM: a row appears while its stream is still running, the totals
 * equal the calls made, the error row shows its type, an HTML-looking model name stays text, filters and the
 * detail view work. Keeps a screenshot in test/artifacts/live-view.png.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UiServer } from '../../src/feed/ui-server.ts';
import { type FakeLlm, startFakeLlm } from '../helpers/fake-llm.ts';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.ts';

const CHROMIUM = '/usr/bin/chromium';
const artifacts = new URL('../artifacts/', import.meta.url).pathname;
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser) {
  // CI installs chromium (.ci/run); there its absence is a failure, elsewhere a skip with the reason.
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: .ci/run installs it with apt-get`);
  console.warn(
    `skipping the live-view browser test: ${CHROMIUM} is not installed (apt-get install chromium)`,
  );
}

const HTML_MODEL = '<img src=x onerror="window.__pwned=1">';

describe.skipIf(!haveBrowser)('the live view in chromium', () => {
  let fake: FakeLlm;
  let app: TestLlmtap;
  let receiver: OtlpReceiver;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    fake = await startFakeLlm();
    receiver = await startOtlpReceiver();
    app = await startFullLlmtap(
      {
        routes: [
          { prefix: '/openai', provider: 'openai', upstream: fake.url },
          { prefix: '/anthropic', provider: 'anthropic', upstream: fake.url },
        ],
      },
      // Traces exported, so each call has the trace id of its span.
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100' },
    );
    openai = new OpenAI({
      apiKey: 'sk-proj-UICANARY0123456789',
      baseURL: `${app.server.dataUrl}/openai/v1`,
      maxRetries: 0,
    });
    anthropic = new Anthropic({
      apiKey: 'sk-ant-UICANARY0123456789',
      baseURL: `${app.server.dataUrl}/anthropic`,
      maxRetries: 0,
    });
    profile = mkdtempSync(join(tmpdir(), 'llmtap-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1440, height: 600 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    fake?.release();
    await app?.shutdown();
    await fake?.close();
    await receiver?.close();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  });

  const rows = () => page.locator('#calls-body tr');
  const rowOf = (model: string) =>
    page.locator('#calls-body tr', { has: page.locator('td.model', { hasText: model }) });

  it('shows calls live, totals equal to the calls made, the error type, and model names as text', async () => {
    const ui = app.ui as UiServer;
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(`${ui.url}/`);
    await expect.poll(() => page.locator('#conn').textContent()).toBe('live');
    expect(await page.locator('#calls-empty').isVisible()).toBe(true);

    // 1. A JSON call.
    await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    await expect.poll(() => rowOf('gpt-4o-mini-2025-01-01').count()).toBe(1);

    // 2. A stream the upstream holds mid-way: its row is there, streaming, before the stream ends.
    let streamDone = false;
    const stream = anthropic.messages.stream({
      model: 'claude-hold',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'hello' }],
    });
    const streamed = stream.finalText().finally(() => {
      streamDone = true;
    });
    await expect.poll(() => fake.held).toBe(1);
    const live = page.locator('#calls-body tr[data-state="streaming"]');
    await expect.poll(() => live.count(), { timeout: 10_000 }).toBe(1);
    expect(await live.locator('td.model').textContent()).toBe('claude-hold');
    expect(await live.locator('td.state').textContent()).toBe('streaming…');
    expect(await live.locator('td.ttft').textContent()).toMatch(/\d+ ms/);
    expect(streamDone).toBe(false);
    fake.release();
    expect(await streamed).toBe('Hello');
    await expect.poll(() => page.locator('#calls-body tr[data-state="streaming"]').count()).toBe(0);
    await expect.poll(() => rowOf('claude-hold-2025-01-01').locator('td.state').textContent()).toBe('ok');

    // 3. An error.
    await expect(
      openai.chat.completions.create({ model: 'rate-limited', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toThrow();
    const errorRow = page.locator('#calls-body tr.error');
    await expect.poll(() => errorRow.count()).toBe(1);
    expect(await errorRow.locator('td.state').textContent()).toBe('rate_limit_exceeded');
    expect(await errorRow.locator('td.status').textContent()).toBe('429');

    // 4. An OpenAI stream, 5. an Anthropic JSON call, 6. a model name that looks like HTML.
    let text = '';
    for await (const part of await openai.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    })) {
      text += part.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('Hello');
    await anthropic.messages.create({
      model: 'claude-3-5-haiku',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'hi' }],
    });
    await openai.chat.completions.create({ model: HTML_MODEL, messages: [{ role: 'user', content: 'hi' }] });
    const made = 6;

    await expect.poll(() => rows().count()).toBe(made);
    await expect.poll(() => page.locator('#total-calls').textContent()).toBe(String(made));
    // Totals equal what the calls reported, as llmtap's own snapshot says.
    const calls = (await (await fetch(`${ui.url}/calls`)).json()) as Record<
      string,
      number | string | undefined
    >[];
    expect(calls).toHaveLength(made);
    const sum = (key: string): number => calls.reduce((total, call) => total + (Number(call[key]) || 0), 0);
    const int = (n: number): string => n.toLocaleString('en-US');
    expect(await page.locator('#total-errors').textContent()).toBe('1');
    expect(await page.locator('#total-input').textContent()).toBe(int(sum('inputTokens')));
    expect(await page.locator('#total-output').textContent()).toBe(int(sum('outputTokens')));
    expect(sum('inputTokens')).toBe(11 + 25 + 21 + 10 + 11);
    const perModel = await page.locator('#totals-body tr td.calls').allTextContents();
    expect(perModel.map(Number).reduce((a, b) => a + b, 0)).toBe(made);

    // The HTML-looking model name is text: no element was created from it and its handler never ran.
    const htmlRow = rowOf('<img src=x');
    expect(await htmlRow.locator('td.model').textContent()).toBe(`${HTML_MODEL}-2025-01-01`);
    expect(await page.locator('#calls-body img, #totals-body img, select img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('#f-model option', { hasText: '<img' }).count()).toBe(1);

    // Each row's trace id is its span's.
    const cell = rowOf('gpt-4o-2025-01-01').locator('td.trace');
    const traceId = (await cell.getAttribute('title')) as string;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(await cell.textContent()).toBe(traceId.slice(0, 16));
    await receiver.waitFor(() => receiver.spans.some((span) => span.traceId === traceId), 10_000, 'the span');
    expect(receiver.spans.find((span) => span.traceId === traceId)?.name).toBe('chat gpt-4o');

    // The chart has this minute's calls.
    expect(await page.locator('#chart rect.calls').count()).toBe(30);

    // Screenshot for the record (test artifact; docs/live-view.png is a copy of one).
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'live-view.png'), fullPage: true });

    // Filters: errors only, then a provider.
    await page.locator('#f-errors').check();
    await expect.poll(() => page.locator('#calls-body tr:not([hidden])').count()).toBe(1);
    expect(await page.locator('#total-calls').textContent()).toBe('1');
    await page.locator('#f-errors').uncheck();
    await page.locator('#f-provider').selectOption('anthropic');
    await expect.poll(() => page.locator('#calls-body tr:not([hidden])').count()).toBe(2);
    await page.locator('#f-provider').selectOption('');
    await expect.poll(() => page.locator('#calls-body tr:not([hidden])').count()).toBe(made);

    // A click shows the call's full record; content capture is off, so no message content.
    await rowOf('claude-3-5-haiku-2025-01-01').click();
    await expect.poll(() => page.locator('#detail').isVisible()).toBe(true);
    await expect.poll(() => page.locator('#detail-fields').textContent()).toContain('msg_fake0');
    expect(await page.locator('#detail-fields').textContent()).toContain('cacheReadTokens4');
    expect(await page.locator('#detail-content').textContent()).toContain('Message content capture is off');
    await page.screenshot({ path: join(artifacts, 'live-view-detail.png') });

    // Nothing secret reached the page.
    expect(await page.content()).not.toContain('UICANARY');
    expect(errors).toEqual([]);
  }, 60_000);
});
