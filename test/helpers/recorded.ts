/** Loads the recorded provider exchanges (test/fixtures/recorded, see its README) for replay. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RecordedFixture {
  readonly file: string;
  readonly provider: string;
  readonly name: string;
  readonly request: {
    readonly method: string;
    readonly path: string;
    readonly host: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly body: string | null;
  };
  readonly response: {
    readonly status: number;
    readonly status_text?: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly format: string;
    readonly body_encoding: 'utf8' | 'base64';
    readonly body: string;
    readonly wire_body_base64?: string;
    readonly wire_content_encoding?: string;
  };
  readonly expected: Readonly<Record<string, unknown>>;
}

export const recordedDir = new URL('../fixtures/recorded/', import.meta.url).pathname;

export const loadRecordedFixtures = (): RecordedFixture[] =>
  readdirSync(recordedDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((dir) =>
      readdirSync(join(recordedDir, dir.name))
        .filter((file) => file.endsWith('.json'))
        .sort()
        .map((file) => {
          const path = join(recordedDir, dir.name, file);
          return {
            file: `${dir.name}/${file}`,
            ...(JSON.parse(readFileSync(path, 'utf8')) as object),
          } as RecordedFixture;
        }),
    );

/** The exact bytes the provider put on the wire: gzip bytes when recorded compressed, binary eventstream frames… */
export const wireBody = (fixture: RecordedFixture): Buffer => {
  const { response } = fixture;
  if (response.wire_body_base64 !== undefined) return Buffer.from(response.wire_body_base64, 'base64');
  return Buffer.from(response.body, response.body_encoding === 'base64' ? 'base64' : 'utf8');
};

/** Headers framing depends on: recomputed by whoever replays the body. */
const framingHeaders = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

/** The recorded end-to-end response headers to replay (content-encoding only when the wire bytes are replayed). */
export const replayHeaders = (fixture: RecordedFixture): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(fixture.response.headers)) {
    if (framingHeaders.has(name)) continue;
    if (name === 'content-encoding' && fixture.response.wire_body_base64 === undefined) continue;
    out[name] = value;
  }
  return out;
};
