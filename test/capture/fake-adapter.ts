/**
 * A tiny adapter for tap tests (synthesised, not a real provider): requests are `{"model": …, "stream": …}`;
 * response frames are JSON objects `{"text"?, "usage"?, "model"?, "done"?, "error"?}`. `text` counts as output,
 * `done` is the terminal signal. Hooks let a test make any entry point throw.
 */
import {
  defineAdapter,
  type Framing,
  type ParsedRequest,
  type ParsedResponse,
  parseJsonObject,
  type ResponseParser,
} from '../../src/adapter.ts';
import { emptyUsage } from '../../src/record.ts';

export interface FakeHooks {
  throwIn?: 'operationFor' | 'parseRequest' | 'framing' | 'createParser' | 'push' | 'finish';
  /** Throw in `push` only from this frame number on (1-based). */
  throwFromFrame?: number;
  framing?: Framing;
  /** Every body the adapter was given, for assertions. */
  bodies?: unknown[];
  /** Every frame text pushed, for assertions. */
  frames?: string[];
  /** What to throw instead of a plain Error. */
  makeError?: () => unknown;
}

export const createFakeAdapter = (hooks: FakeHooks = {}) =>
  defineAdapter({
    id: 'fake',
    providerName: 'fake.provider',
    operationFor: (target) => {
      if (hooks.throwIn === 'operationFor') throw hooks.makeError?.() ?? new Error('operationFor exploded');
      return target.method === 'POST' && target.path.endsWith('/chat') ? 'chat' : undefined;
    },
    parseRequest: (operation, _target, body, options): ParsedRequest => {
      if (hooks.throwIn === 'parseRequest') throw hooks.makeError?.() ?? new Error('parseRequest exploded');
      hooks.bodies?.push(body);
      const object = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
      const model = typeof object.model === 'string' ? object.model : undefined;
      return {
        operation,
        requestModel: model,
        stream: object.stream === true,
        params: {},
        ...(options.captureContent ? { content: { inputMessages: [object.prompt] } } : {}),
      };
    },
    framing: (_request, head): Framing => {
      if (hooks.throwIn === 'framing') throw hooks.makeError?.() ?? new Error('framing exploded');
      if (hooks.framing !== undefined) return hooks.framing;
      return head.contentType?.startsWith('text/event-stream') ? 'sse' : 'json';
    },
    createParser: (_request, head, options): ResponseParser => {
      if (hooks.throwIn === 'createParser') throw hooks.makeError?.() ?? new Error('createParser exploded');
      let frames = 0;
      let inputTokens: number | undefined;
      let outputTokens: number | undefined;
      let model: string | undefined;
      let terminal = false;
      let error: string | undefined = head.status >= 400 ? String(head.status) : undefined;
      let midStream = false;
      let output = '';
      return {
        push(frame, signal) {
          frames += 1;
          hooks.frames?.push(frame.text);
          if (hooks.throwIn === 'push' && frames >= (hooks.throwFromFrame ?? 1))
            throw hooks.makeError?.() ?? new Error('push exploded');
          const object = parseJsonObject(frame.text);
          if (object === undefined) return;
          if (typeof object.text === 'string') {
            signal.output();
            // A second signal for the same frame must not count twice.
            signal.output();
            output += object.text;
          }
          if (typeof object.model === 'string') model = object.model;
          if (typeof object.input === 'number') inputTokens = object.input;
          if (typeof object.output === 'number') outputTokens = object.output;
          if (object.done === true) terminal = true;
          if (typeof object.error === 'string') {
            error = object.error;
            midStream = head.status < 400;
          }
        },
        finish(complete): ParsedResponse {
          if (hooks.throwIn === 'finish') throw hooks.makeError?.() ?? new Error('finish exploded');
          return {
            responseId: undefined,
            responseModel: model,
            usage: { ...emptyUsage, inputTokens, outputTokens },
            finishReasons: terminal ? ['stop'] : [],
            error: error === undefined ? undefined : { type: error, midStream },
            terminal: terminal || (head.status >= 400 && complete),
            ...(options.captureContent ? { content: { outputMessages: [output] } } : {}),
          };
        },
      };
    },
  });
