// Preloaded by bench/suite.mjs (NODE_OPTIONS=--import) into every Node process it starts: at
// exit, appends one line "<CPU µs, user + sys, all threads>\t<script>\t<its first argument not an
// option: dws's command>" to $DWS_BENCH_CPU_LOG.
// (Processes killed by a signal write nothing.)
import { appendFileSync } from 'node:fs';

const log = process.env.DWS_BENCH_CPU_LOG;
if (log) {
  process.on('exit', () => {
    const { user, system } = process.cpuUsage();
    const command = process.argv.slice(2).find((a) => !a.startsWith('-')) ?? '-';
    appendFileSync(log, `${user + system}\t${process.argv[1] ?? '-'}\t${command}\n`);
  });
}
