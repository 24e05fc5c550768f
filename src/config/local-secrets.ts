import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, type Config } from './config.js';
import { parseDataKey, parseTokenKeys, type TokenKey } from './env.js';

export interface ResolvedConfig extends Config {
  tokenKeys: TokenKey[];
  dataKey: Buffer;
}

interface SecretsFile {
  TOKEN_KEYS: string;
  DATA_KEY: string;
}

/**
 * Outside production, secrets that are not in the environment are generated once and kept under
 * DATA_DIR (mode 0600), so links in mail already sent keep working across restarts and the
 * service and the CLI agree on them.
 */
export async function resolveSecrets(config: Config): Promise<ResolvedConfig> {
  if (config.tokenKeys && config.dataKey) {
    return { ...config, tokenKeys: config.tokenKeys, dataKey: config.dataKey };
  }
  if (config.env === 'production') {
    throw new ConfigError(
      config.tokenKeys ? 'DATA_KEY' : 'TOKEN_KEYS',
      'is required when NODE_ENV=production',
    );
  }
  const file = path.join(config.dataDir, 'secrets.json');
  let secrets: SecretsFile;
  try {
    secrets = JSON.parse(await readFile(file, 'utf8')) as SecretsFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    secrets = {
      TOKEN_KEYS: `k${Date.now().toString(36)}:${randomBytes(32).toString('base64url')}`,
      DATA_KEY: randomBytes(32).toString('base64'),
    };
    await mkdir(config.dataDir, { recursive: true });
    // 'wx' so two processes starting at once cannot overwrite each other's keys.
    await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600, flag: 'wx' }).catch(
      async (e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
        secrets = JSON.parse(await readFile(file, 'utf8')) as SecretsFile;
      },
    );
  }
  return {
    ...config,
    tokenKeys: config.tokenKeys ?? parseTokenKeys(secrets.TOKEN_KEYS),
    dataKey: config.dataKey ?? parseDataKey(secrets.DATA_KEY),
  };
}
