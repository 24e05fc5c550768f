import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { projectRoot } from '../../src/shared/paths.js';

export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** Parsed JSON log lines seen so far. */
  logs: Array<Record<string, unknown>>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** What it wrote to stderr so far (a crash's stack, a failed shutdown). */
  stderr(): string;
}

/**
 * Runs `src/main.ts` (or another entry) as a real child process (as `npm start` would) and waits
 * until it listens.
 */
export async function startServiceProcess(
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
  entry = 'src/main.ts',
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: projectRoot,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LOG_LEVEL: 'info',
      INBOUND_SMTP_PORT: '',
      PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`service did not start in ${timeoutMs} ms: ${stderr}`)),
      timeoutMs,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'Kirje listening') {
          clearTimeout(timer);
          resolve(Number(entry.port));
        }
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code} before listening: ${stderr}`));
    });
  });
  return { child, port, url: `http://127.0.0.1:${port}`, logs, exited, stderr: () => stderr };
}

/** Runs the service to its exit (a start that fails); its exit code and what it wrote. */
export function runServiceToExit(env: NodeJS.ProcessEnv, entry = 'src/main.ts') {
  const res = spawnSync(process.execPath, ['--import', 'tsx', entry], {
    cwd: projectRoot,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      INBOUND_SMTP_PORT: '',
      PORT: '0',
      ...env,
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { stdout: res.stdout, stderr: res.stderr, status: res.status };
}

/** Processes whose command line mentions `text` (a DATA_DIR): what a start left running. */
export function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text) && isAlive(Number(pid));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** `npm run cli -- …` equivalent, synchronously; returns stdout, stderr and the exit code. */
export function runCli(args: string[], env: NodeJS.ProcessEnv) {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { stdout: res.stdout, stderr: res.stderr, status: res.status };
}

/** Running, not a zombie: a killed orphan stays a zombie where PID 1 does not reap. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}
