import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CountingSink } from '../test/helpers/counting-sink.js';

/**
 * A counting SMTP sink in a process of its own, as a real relay is: its SMTP parsing then does not
 * share the event loop of the sender being measured. `startSinkProcess()` runs this file; the
 * child answers one request at a time over the IPC channel.
 */
type Request = { type: 'delivered' } | { type: 'reset' };

export interface SinkProcess {
  url: string;
  /** Recipient of every delivered message, in order; duplicates stay visible. */
  delivered(): Promise<string[]>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSinkProcess(): Promise<SinkProcess> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // One request at a time: each waits for the child's next message, or fails if it exits.
  let pending: { resolve(v: unknown): void; reject(e: Error): void } | undefined;
  child.on('message', (m) => {
    pending?.resolve(m);
    pending = undefined;
  });
  child.on('exit', (code) => {
    pending?.reject(new Error(`SMTP sink process exited (${code})`));
    pending = undefined;
  });
  const next = () => new Promise<unknown>((resolve, reject) => (pending = { resolve, reject }));
  const ask = async (req: Request) => {
    const answer = next();
    child.send(req);
    return answer;
  };
  const { url } = (await next()) as { url: string };
  return {
    url,
    delivered: async () => (await ask({ type: 'delivered' })) as string[],
    reset: async () => {
      await ask({ type: 'reset' });
    },
    stop: () => stopChild(child),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

// The child: started by startSinkProcess() with an IPC channel.
if (process.send && import.meta.url === `file://${process.argv[1]}`) {
  const sink = await new CountingSink().start();
  process.on('message', (req: Request) => {
    if (req.type === 'delivered') process.send!(sink.delivered);
    else {
      sink.delivered.length = 0;
      process.send!(true);
    }
  });
  process.on('SIGTERM', () => void sink.stop().then(() => process.exit(0)));
  process.send({ url: sink.url });
}
