// Preloaded by bench/suite.mjs (NODE_OPTIONS=--import) into every Node process it starts: at
// exit, appends one line "<CPU µs, user + sys, all threads> <script>" to $DWS_BENCH_CPU_LOG.
// (Processes killed by a signal write nothing.)
import { appendFileSync } from 'node:fs';

const log = process.env.DWS_BENCH_CPU_LOG;
if (log) {
  process.on('exit', () => {
    const { user, system } = process.cpuUsage();
    appendFileSync(log, `${user + system} ${process.argv[1] ?? '-'}\n`);
  });
}
