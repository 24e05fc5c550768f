import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ROLES, type Role } from '../auth/permissions.js';
import { ConfigError, loadConfig } from '../config/config.js';
import { resolveSecrets } from '../config/local-secrets.js';
import { openDatabase, type Database } from '../db/connection.js';
import { createSmtpMailer } from '../mail/mailer.js';
import { buildServices, type Services } from '../services.js';
import { systemClock } from '../shared/clock.js';
import { AppError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';

/**
 * `npm run cli -- <command> [options]`. Output meant for scripts goes to stdout (a new token is
 * alone on the last line); logs go to stderr.
 */
type Command = (args: string[], s: Services) => Promise<void>;

/** Each command's synopsis and what it does, for `--help`. */
const HELP = {
  'users:create': {
    synopsis: `--email EMAIL --role ${ROLES.join('|')} [--name NAME] [--password-stdin] [--token]`,
    about:
      'Creates a staff user. --password-stdin reads the user’s sign-in password from stdin;\n' +
      '--token also creates an API token and prints it alone on the last line of stdout.',
  },
  'users:list': { synopsis: '', about: 'Lists staff users: id, email, role, active or disabled.' },
  'users:disable': {
    synopsis: '--email EMAIL [--enable]',
    about: 'Disables a staff user (their sessions and tokens stop working); --enable undoes it.',
  },
  'tokens:create': {
    synopsis: '--email EMAIL [--name NAME]',
    about: 'Creates an API token for a staff user and prints it once, on the last line.',
  },
  'tokens:list': {
    synopsis: '--email EMAIL',
    about: 'Lists a staff user’s API tokens: id, name, active or revoked, last use.',
  },
  'tokens:revoke': { synopsis: '--id TOKEN_ID', about: 'Revokes an API token by its id.' },
  'retention:run': {
    synopsis: '[--dry-run]',
    about: 'Runs the retention rules now; --dry-run only counts what they would remove.',
  },
  'retention:reports': { synopsis: '', about: 'Lists the last 20 retention runs.' },
} satisfies Record<string, { synopsis: string; about: string }>;
type CommandName = keyof typeof HELP;
const isCommand = (name: string): name is CommandName => Object.hasOwn(HELP, name);

const USAGE = `Usage: npm run cli -- <command> [options]
       npm run cli -- <command> --help

Commands:
${Object.entries(HELP)
  .map(([name, h]) => `  ${name} ${h.synopsis}`.trimEnd())
  .join('\n')}

Configuration comes from the environment and .env, as for npm start (DATA_DIR, MONGODB_URI, ...).`;

const commandHelp = (name: CommandName) =>
  `Usage: npm run cli -- ${name} ${HELP[name].synopsis}`.trimEnd() + `\n\n${HELP[name].about}`;

const wantsHelp = (args: string[]) => args.some((a) => a === '--help' || a === '-h');

function opts<T extends Record<string, { type: 'string' | 'boolean' }>>(
  args: string[],
  options: T,
) {
  return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
}

function required(value: string | boolean | undefined, flag: string): string {
  if (typeof value !== 'string' || value === '')
    throw new AppError('bad_request', `--${flag} is required`);
  return value;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const commands: Record<CommandName, Command> = {
  async 'users:create'(args, s) {
    const o = opts(args, {
      email: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      token: { type: 'boolean' },
    });
    const role = required(o.role, 'role');
    if (!(ROLES as readonly string[]).includes(role))
      throw new AppError('bad_request', `--role must be one of ${ROLES.join(', ')}`);
    const password = o['password-stdin'] ? await readStdin() : undefined;
    const user = await s.auth.createUser({
      email: required(o.email, 'email'),
      name: o.name,
      role: role as Role,
      password,
    });
    await s.audit.record({ actor: { type: 'system', name: 'cli' } }, 'user.create', null, {
      userId: user.id,
      role,
    });
    console.log(`created ${user.role} user ${user.email} (${user.id})`);
    if (o.token) console.log((await s.auth.createToken(user.id, 'cli')).token);
  },
  async 'users:list'(args, s) {
    opts(args, {});
    for (const u of await s.auth.listUsers()) {
      console.log([u.id, u.email, u.role, u.disabled ? 'disabled' : 'active'].join('\t'));
    }
  },
  async 'users:disable'(args, s) {
    const o = opts(args, { email: { type: 'string' }, enable: { type: 'boolean' } });
    const user = await s.auth.findUserByEmail(required(o.email, 'email'));
    await s.auth.setDisabled(user.id, !o.enable);
    await s.audit.record(
      { actor: { type: 'system', name: 'cli' } },
      o.enable ? 'user.enable' : 'user.disable',
      null,
      { userId: user.id },
    );
    console.log(`${o.enable ? 'enabled' : 'disabled'} ${user.email}`);
  },
  async 'tokens:create'(args, s) {
    const o = opts(args, { email: { type: 'string' }, name: { type: 'string' } });
    const user = await s.auth.findUserByEmail(required(o.email, 'email'));
    const { id, token } = await s.auth.createToken(user.id, o.name ?? 'cli');
    await s.audit.record({ actor: { type: 'system', name: 'cli' } }, 'token.create', null, {
      userId: user.id,
      tokenId: id,
    });
    console.log(`token ${id} for ${user.email}; it is shown only once:`);
    console.log(token);
  },
  async 'tokens:list'(args, s) {
    const o = opts(args, { email: { type: 'string' } });
    const user = await s.auth.findUserByEmail(required(o.email, 'email'));
    for (const t of await s.auth.listTokens(user.id)) {
      console.log(
        [
          t.id,
          t.name,
          t.revokedAt ? 'revoked' : 'active',
          t.lastUsedAt?.toISOString() ?? 'never used',
        ].join('\t'),
      );
    }
  },
  async 'tokens:revoke'(args, s) {
    const o = opts(args, { id: { type: 'string' } });
    const id = required(o.id, 'id');
    if (!/^[0-9a-f]{24}$/.test(id))
      throw new AppError('bad_request', '--id must be a token id as printed by tokens:list');
    await s.auth.revokeToken(id);
    await s.audit.record({ actor: { type: 'system', name: 'cli' } }, 'token.revoke', null, {
      tokenId: id,
    });
    console.log(`revoked ${id}`);
  },
  async 'retention:run'(args, s) {
    const o = opts(args, { 'dry-run': { type: 'boolean' } });
    const dryRun = Boolean(o['dry-run']);
    const report = await s.retention.run({ dryRun, trigger: 'cli' });
    await s.audit.record({ actor: { type: 'system', name: 'cli' } }, 'retention.run', null, {
      reportId: report.id,
      dryRun,
    });
    console.log(`retention ${dryRun ? 'dry run' : 'run'} ${report.id}`);
    for (const r of report.rules) {
      console.log(
        [
          r.rule,
          `matched=${r.matched}`,
          `removed=${r.removed}`,
          `before=${r.cutoff.toISOString()}`,
        ].join('\t'),
      );
    }
  },
  async 'retention:reports'(args, s) {
    opts(args, {});
    for (const r of await s.retention.reports(20)) {
      const total = r.rules.reduce((n, x) => n + (r.dryRun ? x.matched : x.removed), 0);
      console.log(
        [r.id, r.startedAt.toISOString(), r.trigger, r.dryRun ? 'dry-run' : 'run', total].join(
          '\t',
        ),
      );
    }
  },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || wantsHelp([name])) {
    // Asked for: stdout and success; nothing asked: the same text as an error.
    if (name === undefined) console.error(USAGE);
    else console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (!isCommand(name)) {
    console.error(`unknown command: ${name}\n${USAGE}`);
    return 2;
  }
  const command = commands[name];
  if (wantsHelp(args)) {
    console.log(commandHelp(name));
    return 0;
  }
  if (existsSync('.env')) process.loadEnvFile('.env');
  let db: Database | undefined;
  try {
    const config = await resolveSecrets(loadConfig(process.env));
    const logger = createLogger(process.env.LOG_LEVEL ?? 'warn', 2);
    db = await openDatabase({
      uri: config.mongodbUri,
      dataDir: config.dataDir,
      clock: systemClock,
      logger,
    });
    const services = buildServices({
      config,
      db,
      clock: systemClock,
      logger,
      mailer: createSmtpMailer({ url: undefined }),
    });
    await command(args, services);
    return 0;
  } catch (err) {
    if (
      err instanceof AppError ||
      err instanceof ConfigError ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      console.error(`error: ${(err as Error).message}`);
      return err instanceof AppError && err.status < 500 ? 2 : 1;
    }
    console.error(err);
    return 1;
  } finally {
    await db?.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
