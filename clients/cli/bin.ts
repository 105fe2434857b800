#!/usr/bin/env node
/**
 * The `dws` executable. `--version` is answered here without loading anything else, so it
 * starts as fast as node itself; everything else loads the CLI on demand (STYLE.md 10).
 */
import { commandOf } from './argv.js';

const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === '--version') {
  process.stdout.write(`${__DWS_VERSION__}\n`);
} else {
  if (commandOf(argv) === 'snapshot') {
    // Hashing threads start on the other cores while this one loads the CLI (~80 ms).
    (await import('../../server/resources/hashtree/threads.js')).prestartHashThreads();
  }
  const { main } = await import('./main.js');
  process.exitCode = await main(argv);
}
