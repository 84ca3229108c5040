/**
 * Unknown-field check for manifests. kubernetes-models validates types, required fields and enums but
 * lets unknown fields through, while the API server (strict field validation, the kubectl default) rejects
 * them. The models' `.d.ts` interfaces list every field, so we walk the object alongside them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { repoRoot } from './kubectl.ts';

interface Shape {
  /** Field name → the `.d.ts` file of its object type (for `IFoo` and `Array<IFoo>`), or null for leaves. */
  readonly fields: ReadonlyMap<string, string | null>;
}

const shapes = new Map<string, Shape | null>();

/** `./Probe.js` or `@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta` → its `.d.ts` path. */
const resolveImport = (from: string, spec: string): string | undefined => {
  if (spec.startsWith('.')) return resolve(dirname(from), spec.replace(/\.js$/, '.d.ts'));
  const parts = spec.split('/');
  const pkgLength = spec.startsWith('@') ? 2 : 1;
  const pkg = parts.slice(0, pkgLength).join('/');
  const rest = parts.slice(pkgLength).join('/');
  for (let dir = dirname(from); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', pkg, `${rest}.d.ts`);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
};

/** The first interface in a models `.d.ts` (each file declares one), or null for type aliases. */
const shapeOf = (file: string): Shape | null => {
  const cached = shapes.get(file);
  if (cached !== undefined) return cached;
  const text = readFileSync(file, 'utf8');
  const imports = new Map<string, string>();
  for (const m of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) {
    const target = resolveImport(file, m[2] ?? '');
    if (m[1] !== undefined && target !== undefined) imports.set(m[1], target);
  }
  const start = text.search(/^export interface \w+/m);
  if (start < 0) {
    shapes.set(file, null);
    return null;
  }
  const body = text.slice(start, text.indexOf('\n}', start));
  const fields = new Map<string, string | null>();
  // One field per line at the interface's indent; multi-line types (maps, inline objects) are leaves.
  for (const m of body.matchAll(/^ {4}"([^"]+)"\??:(.*)$/gm)) {
    const type = (m[2] ?? '').trim().replace(/;$/, '');
    const ref = /^(?:Array<)?(\w+)>?$/.exec(type)?.[1];
    fields.set(m[1] ?? '', ref !== undefined ? (imports.get(ref) ?? null) : null);
  }
  // `interface IIssuerSpec extends IIssuerConfig {}`: the fields live in the base interface.
  const bases = /^export interface \w+ extends ([\w, ]+) \{/m.exec(text.slice(start))?.[1] ?? '';
  for (const base of bases.split(',').map((b) => b.trim())) {
    const baseFile = imports.get(base);
    const baseShape = baseFile === undefined ? null : shapeOf(baseFile);
    for (const [name, ref] of baseShape?.fields ?? []) if (!fields.has(name)) fields.set(name, ref);
  }
  const shape = { fields };
  shapes.set(file, shape);
  return shape;
};

const roots: Readonly<Record<string, string>> = {
  'v1/ConfigMap': 'kubernetes-models/v1/ConfigMap',
  'v1/Namespace': 'kubernetes-models/v1/Namespace',
  'v1/Pod': 'kubernetes-models/v1/Pod',
  'v1/Secret': 'kubernetes-models/v1/Secret',
  'v1/Service': 'kubernetes-models/v1/Service',
  'v1/ServiceAccount': 'kubernetes-models/v1/ServiceAccount',
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration':
    'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration',
  'cert-manager.io/v1/Issuer': '@kubernetes-models/cert-manager/cert-manager.io/v1/Issuer',
  'cert-manager.io/v1/Certificate': '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate',
};

/** Paths (`spec.template.spec.initContainers[0].startupProbe.periodSecond`) of fields no schema declares. */
export const unknownFields = (obj: { apiVersion?: unknown; kind?: unknown }): string[] => {
  const key = `${String(obj.apiVersion)}/${String(obj.kind)}`;
  const root = roots[key];
  if (root === undefined) throw new Error(`no field list registered for ${key}`);
  const rootFile = resolveImport(join(repoRoot, 'package.json'), root);
  if (rootFile === undefined) throw new Error(`cannot find the .d.ts for ${key}`);
  const found: string[] = [];
  const walk = (value: unknown, file: string, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        walk(item, file, `${path}[${i}]`);
      });
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    const shape = shapeOf(file);
    if (shape === null) return;
    for (const [field, child] of Object.entries(value)) {
      const childPath = path === '' ? field : `${path}.${field}`;
      if (!shape.fields.has(field)) found.push(childPath);
      else {
        const childFile = shape.fields.get(field);
        if (childFile !== null && childFile !== undefined) walk(child, childFile, childPath);
      }
    }
  };
  walk(obj, rootFile, '');
  return found;
};
