#!/usr/bin/env node
/**
 * The `dws` executable. `--version` is answered here without loading anything else, so it
 * starts as fast as node itself; everything else loads the CLI on demand (STYLE.md 10).
 */
const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === '--version') {
  process.stdout.write(`${__DWS_VERSION__}\n`);
} else {
  const { main } = await import('./main.js');
  process.exitCode = await main(argv);
}
