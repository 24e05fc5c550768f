import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const DOVECOT = '/usr/sbin/dovecot';

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });

/**
 * A throwaway Dovecot IMAP server (Debian's dovecot-imapd, installed by
 * scripts/ensure-dovecot.sh) on a free loopback port: its own configuration, run and mail
 * directories in a temporary folder, one user with a plain password, no TLS, no system service.
 * Everything runs as the current user (root in CI), so no other account is needed.
 */
export class DovecotServer {
  readonly user = 'kirje';
  readonly password = 'imap-test-password';
  port = 0;
  private dir = '';
  private child: ChildProcess | undefined;

  get url(): string {
    return `imap://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    if (!existsSync(DOVECOT))
      throw new Error(`${DOVECOT} is missing: run scripts/ensure-dovecot.sh (npm test does)`);
    this.dir = mkdtempSync(path.join(tmpdir(), 'kirje-dovecot-'));
    this.port = await freePort();
    const me = userInfo();
    // Nor will it keep mail as root: then the mailbox belongs to its own `dovecot` user.
    const owner = me.uid === 0 ? systemUser('dovecot') : { uid: me.uid, gid: me.gid };
    const home = path.join(this.dir, 'home');
    for (const d of ['run', 'state', 'home']) mkdirSync(path.join(this.dir, d));
    chownSync(home, owner.uid, owner.gid);
    // Dovecot's auth worker reads the password file as its unprivileged user (when run as root).
    chmodSync(this.dir, 0o711);
    writeFileSync(path.join(this.dir, 'passwd'), `${this.user}:{PLAIN}${this.password}\n`, {
      mode: 0o644,
    });
    const conf = path.join(this.dir, 'dovecot.conf');
    writeFileSync(
      conf,
      `
protocols = imap
listen = 127.0.0.1
base_dir = ${this.dir}/run
state_dir = ${this.dir}/state
log_path = ${this.dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
${
  // Dovecot refuses to run its login processes as root; as root it uses the package's own
  // unprivileged users (dovenull, dovecot), as anyone else the current user.
  me.uid === 0
    ? ''
    : `default_login_user = ${me.username}
default_internal_user = ${me.username}
default_internal_group = ${groupName(me.gid)}`
}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${this.dir}/passwd
}
userdb {
  driver = static
  args = uid=${owner.uid} gid=${owner.gid} home=${home}/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${this.port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service stats {
  unix_listener stats-reader {
    mode = 0600
  }
  unix_listener stats-writer {
    mode = 0600
  }
}
`,
    );
    this.child = spawn(DOVECOT, ['-F', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    this.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) break;
      if (await accepts(this.port)) return this;
      await sleep(100);
    }
    const log = this.log();
    await this.stop();
    throw new Error(`dovecot did not start: ${stderr}${log}`);
  }

  /** The server's log, for a failing test's message. */
  log(): string {
    const file = path.join(this.dir, 'dovecot.log');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

function groupName(gid: number): string {
  const line = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[2] === String(gid));
  return line?.split(':')[0] ?? String(gid);
}

function systemUser(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no ${name} user: is dovecot-core installed?`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}
