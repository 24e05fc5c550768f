import { startService } from '../../src/server.js';
import { TestRenderer } from './renderer.js';

/**
 * The service as a child process for crash tests: src/main.ts, but with the test renderer behind
 * the CampaignRenderer port while the MJML renderer is not on this branch.
 */
const service = await startService(process.env, undefined, { renderer: new TestRenderer() });
process.send?.({ ready: service.url });
process.once('SIGTERM', () => {
  service.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
