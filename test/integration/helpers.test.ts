/** The test helpers themselves: what they hand the processes they start. */
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, TEST_ENV } from '../helpers.js';

afterAll(cleanup);

describe('TEST_ENV', () => {
  it('leaves out NODE_EXTRA_CA_CERTS, which costs every Node process a CA bundle parse', () => {
    expect(Object.keys(TEST_ENV)).not.toContain('NODE_EXTRA_CA_CERTS');
    expect(TEST_ENV.GIT_CONFIG_NOSYSTEM).toBe('1');
  });
});
