// Headless Chromium for the browser tests: Debian's /usr/bin/chromium (or $WSGATE_CHROMIUM)
// driven by playwright-core. Importing this module fails with a message saying what to install
// when either is missing; the tests are never skipped.
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.WSGATE_CHROMIUM || '/usr/bin/chromium';
// The flags that keep a headless Chromium off the network this machine does not have.
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu',
  '--disable-background-networking', '--disable-component-update', '--no-first-run',
  '--disable-sync'];

export const { chromium } = await import('playwright-core').catch((err) => {
  throw new Error(`cannot load the npm package "playwright-core" (${err.message}): ` +
                  'run `npm ci` in tests/integration');
});
if (!existsSync(CHROMIUM)) {
  throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (make deps)`);
}
