import { startService } from '../../src/server.js';
import { TestRenderer } from './renderer.js';

/**
 * src/main.ts for crash tests, with the test renderer behind the CampaignRenderer port while the
 * MJML renderer is not on this branch. Killed with SIGKILL by the tests; SIGTERM stops it cleanly.
 */
const service = await startService(process.env, undefined, { renderer: new TestRenderer() });
process.once('SIGTERM', () => {
  service.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
