import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../../../src/config/config.js';

describe('UNSUBSCRIBE_CONFIRMATION_MAIL', () => {
  it('is off unless set to true, and refuses anything but true/false', () => {
    expect(loadConfig({}).unsubscribeConfirmationMail).to.equal(false);
    expect(loadConfig({ UNSUBSCRIBE_CONFIRMATION_MAIL: '' }).unsubscribeConfirmationMail).to.equal(
      false,
    );
    expect(
      loadConfig({ UNSUBSCRIBE_CONFIRMATION_MAIL: 'true' }).unsubscribeConfirmationMail,
    ).to.equal(true);
    expect(() => loadConfig({ UNSUBSCRIBE_CONFIRMATION_MAIL: 'yes' })).to.throw(
      ConfigError,
      /UNSUBSCRIBE_CONFIRMATION_MAIL/,
    );
  });

  it('is documented in .env.example, off', () => {
    expect(readFileSync('.env.example', 'utf8')).to.match(/^UNSUBSCRIBE_CONFIRMATION_MAIL=false$/m);
  });
});
