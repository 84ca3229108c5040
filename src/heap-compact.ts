/**
 * One memory-reducing garbage collection once llmtap is serving (#15: idle RSS is paid by every pod).
 *
 * Start-up leaves the heap sized for start-up: compiling and running ~500 modules survives enough scavenges
 * that V8 grows the young generation to its 8 MB semi-spaces (8 MB resident, ~0.4 MB of it live) and keeps
 * the old generation's start-up garbage. V8 gives that memory back only in a memory-reducing full GC, which
 * an idle process never triggers on its own (no allocation, so no GC at all). Asking for one "last-resort"
 * collection right after the listeners are up returns 6-9 MB to the OS; under load the young generation
 * grows back to what the traffic needs, so throughput and peak memory are unchanged.
 *
 * Node exposes no such call without `--expose-gc`, and NODE_OPTIONS belong to the deployment: the flag is set
 * only for the throwaway context that hands out `gc`, and reset at once unless the operator had set it.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/** Runs the collection; false when this Node offers no way to (then nothing happened). Never throws. */
export const compactHeap = (): boolean => {
  try {
    let gc = (globalThis as { gc?: Gc }).gc;
    if (typeof gc !== 'function') {
      setFlagsFromString('--expose-gc');
      try {
        gc = runInNewContext('gc') as Gc | undefined;
      } finally {
        setFlagsFromString('--no-expose-gc');
      }
    }
    if (typeof gc !== 'function') return false;
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    return true;
  } catch {
    return false;
  }
};
