/**
 * Every process the bench starts goes through here, so one exit path can stop them all by PID —
 * on success, on error, on a signal and on the global timeout alike.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything the process wrote to stderr (bounded), for error messages. */
  stderr(): string;
  /** Resolves with the exit code once the process is gone. */
  readonly exited: Promise<number | null>;
}

const running = new Map<number, Started>();

export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Where stdout goes: a pipe (read by the bench) or a file descriptor / 'ignore' for chatty servers. */
  readonly stdout?: 'pipe' | 'ignore' | number;
}

export const start = (name: string, command: string, args: readonly string[], options: SpawnOptions = {}) => {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['pipe', options.stdout ?? 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const pid = child.pid;
  let err = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    if (err.length < 64_000) err += text;
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(pid);
      resolve(code);
    });
    child.once('error', () => resolve(null));
  });
  // A pipe nobody reads fills up and blocks the child: always drain it.
  child.stdout?.resume();
  const started: Started = { name, child, pid, stderr: () => err, exited };
  running.set(pid, started);
  return started;
};

/** Child PIDs of a process (nginx workers), read from /proc. */
export const childPids = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number);
  } catch {
    return [];
  }
};

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** SIGTERM, then SIGKILL after `graceMs`; also kills the process's children (by PID) if they outlive it. */
export const stop = async (started: Started, graceMs = 2000): Promise<void> => {
  const kids = childPids(started.pid);
  if (alive(started.pid)) {
    try {
      process.kill(started.pid, 'SIGTERM');
    } catch {}
    const timer = new Promise((resolve) => setTimeout(resolve, graceMs));
    await Promise.race([started.exited, timer]);
    if (alive(started.pid)) {
      try {
        process.kill(started.pid, 'SIGKILL');
      } catch {}
      await Promise.race([started.exited, new Promise((resolve) => setTimeout(resolve, 1000))]);
    }
  }
  for (const kid of kids) {
    if (alive(kid)) {
      try {
        process.kill(kid, 'SIGKILL');
      } catch {}
    }
  }
  running.delete(started.pid);
};

export const stopAll = async (): Promise<void> => {
  await Promise.all([...running.values()].map((started) => stop(started, 1000)));
};

/** Synchronous last resort for `process.on('exit')`: no awaiting possible there. */
export const killAllNow = (): void => {
  for (const started of running.values()) {
    for (const kid of childPids(started.pid)) {
      try {
        process.kill(kid, 'SIGKILL');
      } catch {}
    }
    try {
      process.kill(started.pid, 'SIGKILL');
    } catch {}
  }
  running.clear();
};

/** Resolves with the first stdout line that parses as JSON, or rejects on exit/timeout. */
export const firstJsonLine = <T>(started: Started, timeoutMs: number): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    let buffered = '';
    const stdout = started.child.stdout;
    if (stdout === null) {
      reject(new Error(`${started.name}: no stdout`));
      return;
    }
    stdout.setEncoding('utf8');
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new Error(`${started.name}: no answer within ${timeoutMs} ms\n${started.stderr().slice(-2000)}`),
      );
    }, timeoutMs);
    const onData = (text: string): void => {
      buffered += text;
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line.startsWith('{')) {
          try {
            const value = JSON.parse(line) as T;
            cleanup();
            resolve(value);
            return;
          } catch {}
        }
        nl = buffered.indexOf('\n');
      }
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(
        new Error(`${started.name} exited (${code}) before answering\n${started.stderr().slice(-2000)}`),
      );
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      stdout.off('data', onData);
      started.child.off('exit', onExit);
    };
    stdout.on('data', onData);
    started.child.once('exit', onExit);
  });

/** Runs a Node child (a bench client) to completion and returns the JSON line it printed last. */
export const runNodeJson = <T>(name: string, script: string, input: unknown, timeoutMs: number): Promise<T> =>
  runCommandJson<T>(name, process.execPath, [script, JSON.stringify(input)], timeoutMs);

/** Runs a command to completion (killed after `timeoutMs`) and returns the last JSON line of its stdout. */
export const runCommandJson = async <T>(
  name: string,
  command: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<T> => {
  const started = start(name, command, args);
  let out = '';
  started.child.stdout?.setEncoding('utf8');
  started.child.stdout?.on('data', (text: string) => {
    out += text;
  });
  const timer = setTimeout(() => {
    void stop(started, 500);
  }, timeoutMs);
  const code = await started.exited;
  clearTimeout(timer);
  const line = out
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (code !== 0 || line === undefined) {
    throw new Error(`${name} failed (exit ${code})\n${started.stderr().slice(-2000)}\n${out.slice(-500)}`);
  }
  return JSON.parse(line) as T;
};
