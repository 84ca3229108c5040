/**
 * Reads the pod's labels and annotations from a Kubernetes Downward-API volume (`fieldRef:
 * metadata.labels` / `metadata.annotations`). Each file holds one `key="value"` per line, the value
 * quoted the way Go's `strconv.Quote` does it.
 * https://kubernetes.io/docs/concepts/workloads/pods/downward-api/
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface PodInfo {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** Annotations can hold whole manifests (`last-applied-configuration`); nothing we need is that big. */
const maxFileBytes = 1024 * 1024;

const simpleEscapes: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

/** Decodes a Go double-quoted string literal body (without the quotes); undefined when malformed. */
const unquoteGo = (body: string): string | undefined => {
  if (!body.includes('\\')) return body;
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  const pushText = (text: string): void => {
    for (const byte of encoder.encode(text)) bytes.push(byte);
  };
  let i = 0;
  while (i < body.length) {
    const ch = body[i] as string;
    if (ch !== '\\') {
      const cp = body.codePointAt(i) as number;
      const text = String.fromCodePoint(cp);
      pushText(text);
      i += text.length;
      continue;
    }
    const next = body[i + 1];
    if (next === undefined) return undefined;
    const simple = simpleEscapes[next];
    if (simple !== undefined) {
      pushText(simple);
      i += 2;
      continue;
    }
    const hexLength = next === 'x' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0;
    if (hexLength > 0) {
      const hex = body.slice(i + 2, i + 2 + hexLength);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== hexLength) return undefined;
      const value = Number.parseInt(hex, 16);
      // `\xNN` is a raw byte (may be part of a UTF-8 sequence); `\u`/`\U` are code points.
      if (next === 'x') bytes.push(value);
      else if (value > 0x10ffff) return undefined;
      else pushText(String.fromCodePoint(value));
      i += 2 + hexLength;
      continue;
    }
    if (/[0-7]/.test(next)) {
      const oct = body.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(oct)) return undefined;
      bytes.push(Number.parseInt(oct, 8) & 0xff);
      i += 4;
      continue;
    }
    return undefined;
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
};

/** Parses a Downward-API `key="value"` file; malformed lines are skipped, never fatal. */
export const parseDownwardApiFile = (text: string): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    const raw = line.slice(eq + 1).trim();
    if (key === '' || raw.length < 2 || !raw.startsWith('"') || !raw.endsWith('"')) continue;
    const value = unquoteGo(raw.slice(1, -1));
    if (value !== undefined) out[key] = value;
  }
  return out;
};

const readOptional = async (path: string): Promise<string | undefined> => {
  try {
    const buffer = await readFile(path);
    return buffer.subarray(0, maxFileBytes).toString('utf8');
  } catch {
    return undefined;
  }
};

/** Reads `labels` and `annotations` from the folder; a missing folder or file yields empty maps. */
export const readPodInfo = async (dir: string): Promise<PodInfo & { readonly found: boolean }> => {
  const [labels, annotations] = await Promise.all([
    readOptional(join(dir, 'labels')),
    readOptional(join(dir, 'annotations')),
  ]);
  return {
    labels: labels === undefined ? {} : parseDownwardApiFile(labels),
    annotations: annotations === undefined ? {} : parseDownwardApiFile(annotations),
    found: labels !== undefined || annotations !== undefined,
  };
};
