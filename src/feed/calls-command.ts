/**
 * `llmtap calls`: the live view's feed in a terminal. One line per call (or its JSON with `--json`), oldest
 * first like `tail`; `--follow` keeps printing calls as they finish. Talks to a local llmtap's live-view
 * listener, or a pod's through `kubectl port-forward pod/NAME 4547`.
 */
import { parseArgs } from 'node:util';

export const callsHelpText = `llmtap calls — the recent LLM calls of a running llmtap, one line per call

Usage:
  llmtap calls [--url URL] [--limit N] [--follow] [--json]

  --url URL      the llmtap live-view listener (default http://127.0.0.1:4547, or LLMTAP_UI_LISTEN's address)
  -n, --limit N  how many recent calls to print first (default 20)
  -f, --follow   keep printing calls as they finish (Ctrl-C to stop)
  --json         one JSON object per line, with the field names of llmtap's log line
  -h, --help     this text

A pod's llmtap:  kubectl port-forward pod/NAME 4547  then  llmtap calls --follow
`;

type Call = Readonly<Record<string, unknown>>;

export interface CallsIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Aborts `--follow` (SIGINT in the CLI; tests). */
  readonly signal?: AbortSignal | undefined;
}

const str = (value: unknown): string => (value === undefined || value === null ? '' : String(value));
const int = (value: unknown): string => (typeof value === 'number' ? String(value) : '-');

const ms = (value: unknown): string => {
  if (typeof value !== 'number') return '-';
  return value >= 1000 ? `${(value / 1000).toFixed(2)}s` : `${Math.round(value)}ms`;
};

/** Strips terminal control characters: a model name or error text must not drive the terminal. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const clean = (text: string): string => text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

/** The human line for one call. */
export const formatCallLine = (call: Call): string => {
  const time = str(call.time);
  const clock = time.length >= 23 ? time.slice(11, 23) : time;
  const model = str(call.responseModel ?? call.model) || '-';
  const status = call.errorType !== undefined ? `ERROR ${str(call.errorType)}` : str(call.status) || '-';
  const parts = [
    clock,
    str(call.provider) || '-',
    str(call.operation) || '-',
    model,
    status,
    `in=${int(call.inputTokens)}`,
    `out=${int(call.outputTokens)}`,
    `cached=${int(call.cacheReadTokens)}`,
    `reasoning=${int(call.reasoningTokens)}`,
    `cost=${typeof call.costUsd === 'number' ? `$${call.costUsd.toFixed(6)}` : '-'}`,
    `ttft=${ms(call.ttfcMs)}`,
    `dur=${ms(call.durationMs)}`,
  ];
  if (call.traceId !== undefined) parts.push(`trace=${str(call.traceId)}`);
  return clean(parts.join('  '));
};

const defaultUrl = (env: Readonly<Record<string, string | undefined>>): string => {
  const listen = env.LLMTAP_UI_LISTEN;
  if (listen === undefined || listen === '' || listen === 'off') return 'http://127.0.0.1:4547';
  // A wildcard listen address is reached on loopback.
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon);
  const port = listen.slice(colon + 1);
  const reach = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host;
  return `http://${reach}:${port}`;
};

const print = (io: CallsIo, call: Call, json: boolean): void => {
  io.out(`${json ? JSON.stringify(call) : formatCallLine(call)}\n`);
};

/** Reads server-sent events from a fetch body; calls `onEvent(type, data)` per dispatched event. */
const readEvents = async (
  body: ReadableStream<Uint8Array>,
  onEvent: (type: string, data: string) => void,
): Promise<void> => {
  const decoder = new TextDecoder();
  let buffer = '';
  let type = 'message';
  let data: string[] = [];
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline = buffer.search(/\r\n|\r|\n/);
    while (newline >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (data.length > 0) onEvent(type, data.join('\n'));
        type = 'message';
        data = [];
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const name = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (name === 'event') type = value;
        else if (name === 'data') data.push(value);
      }
      newline = buffer.search(/\r\n|\r|\n/);
    }
  }
};

export const runCallsCommand = async (
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: CallsIo,
): Promise<number> => {
  let values: { url?: string; limit?: string; follow?: boolean; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        url: { type: 'string' },
        limit: { type: 'string', short: 'n' },
        follow: { type: 'boolean', short: 'f' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    io.err(`llmtap calls: ${(error as Error).message}\nRun llmtap calls --help for usage.\n`);
    return 2;
  }
  if (values.help === true) {
    io.out(callsHelpText);
    return 0;
  }
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 0) {
    io.err(`llmtap calls: --limit expects a whole number (got ${JSON.stringify(values.limit)})\n`);
    return 2;
  }
  const base = (values.url ?? defaultUrl(env)).replace(/\/+$/, '');
  const json = values.json === true;
  const where = `${base} (is llmtap running with its live view on? for a pod: kubectl port-forward pod/NAME 4547)`;
  try {
    if (values.follow !== true) {
      const res = await fetch(`${base}/calls?limit=${Math.max(1, limit)}`, { signal: io.signal ?? null });
      if (!res.ok) {
        io.err(`llmtap calls: ${base}/calls answered ${res.status}\n`);
        return 1;
      }
      const calls = ((await res.json()) as Call[]).filter((call) => call.state === 'done').slice(0, limit);
      for (const call of calls.reverse()) print(io, call, json);
      return 0;
    }
    const res = await fetch(`${base}/calls/stream`, {
      headers: { accept: 'text/event-stream' },
      signal: io.signal ?? null,
    });
    if (!res.ok || res.body === null) {
      io.err(`llmtap calls: ${base}/calls/stream answered ${res.status}\n`);
      return 1;
    }
    const printed = new Set<unknown>();
    await readEvents(res.body, (type, data) => {
      if (type === 'snapshot') {
        const snapshot = JSON.parse(data) as { calls: Call[] };
        const recent = snapshot.calls.filter((call) => call.state === 'done').slice(0, limit);
        for (const call of recent.reverse()) {
          if (printed.has(call.id)) continue;
          printed.add(call.id);
          print(io, call, json);
        }
      } else if (type === 'call') {
        const { call } = JSON.parse(data) as { call: Call };
        if (call.state !== 'done' || printed.has(call.id)) return;
        printed.add(call.id);
        // Ids only grow: the set need not remember more than the recent ones.
        if (printed.size > 10_000) printed.clear();
        print(io, call, json);
      }
    });
    io.err('llmtap calls: the stream ended (llmtap stopped?)\n');
    return 1;
  } catch (error) {
    if (io.signal?.aborted === true) return 0;
    const reason = (error as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } })
      .cause;
    const cause = reason?.code ?? reason?.errors?.[0]?.code ?? reason?.message;
    io.err(`llmtap calls: cannot read ${where}: ${cause ?? (error as Error).message}\n`);
    return 1;
  }
};
