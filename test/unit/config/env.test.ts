import { expect } from 'chai';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config/config.js';
import { envSchema } from '../../../src/config/env.js';
import { resolveSecrets } from '../../../src/config/local-secrets.js';
import { projectRoot } from '../../../src/shared/paths.js';

const goodKeys = 'k2:abcdefghijklmnopqrstuvwxyz0123456789,k1:0123456789abcdefghijklmnopqrstuvwxyz';
const dataKey = Buffer.alloc(32, 1).toString('base64');

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('.env.example lists exactly the variables of the schema', () => {
    const example = readFileSync(path.join(projectRoot, '.env.example'), 'utf8');
    const listed = [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]).sort();
    expect(listed).to.deep.equal(Object.keys(envSchema.shape).sort());
  });

  it('has contract defaults for a local run', () => {
    const c = loadConfig({});
    expect(c.port).to.equal(3000);
    expect(c.baseUrl).to.equal('http://localhost:3000');
    expect(c.mongodbUri).to.equal(undefined);
    expect(c.inboundSmtpPort).to.equal(2526);
    expect(c.inboundDomain).to.equal('localhost');
    expect(c.dataDir).to.equal(path.resolve('./data'));
    expect(c.smtpUrl).to.equal(undefined);
  });

  it('treats an empty INBOUND_SMTP_PORT as disabled and derives INBOUND_DOMAIN from BASE_URL', () => {
    const c = loadConfig({ INBOUND_SMTP_PORT: '', BASE_URL: 'https://News.Example.com/' });
    expect(c.inboundSmtpPort).to.equal(null);
    expect(c.baseUrl).to.equal('https://news.example.com');
    expect(c.inboundDomain).to.equal('news.example.com');
  });

  const bad: Array<[string, NodeJS.ProcessEnv]> = [
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['BASE_URL', { BASE_URL: 'ftp://x' }],
    ['MONGODB_URI', { MONGODB_URI: 'postgres://x' }],
    ['SMTP_URL', { SMTP_URL: 'http://relay' }],
    ['NODE_ENV', { NODE_ENV: 'staging' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['TOKEN_KEYS', { TOKEN_KEYS: 'k1:short' }],
    ['TOKEN_KEYS', { TOKEN_KEYS: 'nokid' }],
    ['DATA_KEY', { DATA_KEY: 'c2hvcnQ=' }],
    ['INBOUND_DOMAIN', { INBOUND_DOMAIN: 'bad domain!' }],
    ['DKIM_SELECTOR', { DKIM_DOMAIN: 'example.com' }],
    ['WEBHOOK_ALLOW_PRIVATE_ADDRESSES', { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'yes' }],
  ];
  for (const [variable, env] of bad) {
    it(`names ${variable} when it is malformed (${JSON.stringify(env)})`, () => {
      const err = configError(env);
      expect(err.variable).to.equal(variable);
      expect(err.message).to.match(new RegExp(`^Invalid configuration: ${variable} `));
      expect(err.message).to.not.include('\n');
    });
  }

  describe('production', () => {
    const prod = {
      NODE_ENV: 'production',
      BASE_URL: 'https://news.example.com',
      TOKEN_KEYS: goodKeys,
      DATA_KEY: dataKey,
      ORG_NAME: 'Soundtools Oy',
      ORG_ADDRESS: 'Teollisuuskatu 21, 00510 Helsinki',
    };

    it('starts with real secrets', () => {
      expect(loadConfig(prod).tokenKeys?.map((k) => k.kid)).to.deep.equal(['k2', 'k1']);
    });

    for (const missing of ['TOKEN_KEYS', 'DATA_KEY', 'BASE_URL', 'ORG_NAME', 'ORG_ADDRESS']) {
      it(`refuses to start without ${missing}`, () => {
        expect(configError({ ...prod, [missing]: '' }).variable).to.equal(missing);
      });
    }

    it('allows webhooks to private addresses only when told, unlike development and tests', () => {
      expect(loadConfig(prod).webhooks.allowPrivateAddresses).to.equal(false);
      expect(loadConfig({ ...prod, WEBHOOK_ALLOW_PRIVATE_ADDRESSES: '' }).webhooks).to.include({
        allowPrivateAddresses: false,
      });
      expect(loadConfig({ ...prod, WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true' }).webhooks).to.include({
        allowPrivateAddresses: true,
      });
      expect(loadConfig({}).webhooks.allowPrivateAddresses).to.equal(true);
      expect(loadConfig({ NODE_ENV: 'test' }).webhooks.allowPrivateAddresses).to.equal(true);
      expect(
        loadConfig({ NODE_ENV: 'test', WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'false' }).webhooks,
      ).to.include({ allowPrivateAddresses: false });
    });

    it('refuses placeholder secrets', () => {
      const err = configError({
        ...prod,
        TOKEN_KEYS: 'k1:change-me-change-me-change-me-change-me',
      });
      expect(err.variable).to.equal('TOKEN_KEYS');
      expect(err.message).to.include('placeholder');
    });
  });

  it('generates local secrets once, mode 0600, and keeps them across starts', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kirje-cfg-'));
    const first = await resolveSecrets(loadConfig({ DATA_DIR: dir }));
    const second = await resolveSecrets(loadConfig({ DATA_DIR: dir }));
    expect(first.tokenKeys).to.deep.equal(second.tokenKeys);
    expect(first.dataKey.equals(second.dataKey)).to.equal(true);
    expect(statSync(path.join(dir, 'secrets.json')).mode & 0o777).to.equal(0o600);
  });

  it('refuses to generate secrets in production', async () => {
    const config = { ...loadConfig({}), env: 'production' as const };
    try {
      await resolveSecrets(config);
      expect.fail('resolved');
    } catch (err) {
      expect((err as ConfigError).variable).to.equal('TOKEN_KEYS');
    }
  });
});
