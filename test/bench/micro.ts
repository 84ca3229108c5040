/**
 * Child process: runs the in-process micro-benchmarks the parsing engineer keeps in `decoders.ts`
 * (every exported `run…Bench` function), away from the harness's own event loop, and prints one JSON
 * line `{ "<name>": rows[] }`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const file = fileURLToPath(new URL('./decoders.ts', import.meta.url));
const out: Record<string, unknown> = {};
if (existsSync(file)) {
  const module = (await import(file)) as Record<string, unknown>;
  for (const [name, fn] of Object.entries(module)) {
    if (!/^run\w*Bench$/.test(name) || typeof fn !== 'function') continue;
    try {
      out[name] = await (fn as () => Promise<unknown>)();
    } catch (error) {
      out[name] = { error: (error as Error).message };
    }
  }
}
process.stdout.write(`${JSON.stringify(out)}\n`);
