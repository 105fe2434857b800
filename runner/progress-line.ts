/** One line per run event, as the terminal (`dws run`, `dws watch`) and the VS Code output channel show it. */
import type { RunEvent } from '../protocol/runner.js';

export function progressLine(e: RunEvent): string {
  switch (e.type) {
    case 'queued':
      return `[${e.step}] queued\n`;
    case 'started':
      return `[${e.step}] running\n`;
    case 'skipped':
      return `[${e.step}] skipped: ${e.reason}\n`;
    case 'succeeded':
      return `[${e.step}] done in ${formatMs(e.durationMs)}\n`;
    case 'restored':
      return `[${e.step}] restored from the run cache (run ${e.from.runId} of ${e.from.startTime}${e.from.snapshot ? `, snapshot ${e.from.snapshot.slice(0, 8)}` : ''}) in ${formatMs(e.durationMs)}\n`;
    case 'failed':
      return (
        `[${e.step}] FAILED: ${e.reason}\n` +
        (e.where ?? []).map((f) => `[${e.step}]     at ${f.function ? `${f.function} ` : ''}(${f.file}:${f.line}:${f.column})\n`).join('') +
        (e.leftInOutputs?.length ? `[${e.step}] left in its outputs: ${e.leftInOutputs.join(', ')}\n` : '')
      );
    case 'observed-write':
      return e.outside
        ? `WARNING: ${e.path} leads through a symlink out of its resource, to ${e.outside}${e.step ? ` (written by ${e.step})` : ''}: the snapshot will not hold it; recorded in the step's lineage\n`
        : `WARNING: ${e.path} was written outside the declared outputs${e.step ? ` (while ${e.step} ran)` : ''}\n`;
    case 'log':
      return e.partial ? '' : `[${e.step}] ${e.message}\n`;
    case 'job': {
      const where = e.node ? ` on ${e.node}` : '';
      const when = e.startedAt && e.endedAt ? ` (ran ${e.startedAt} to ${e.endedAt})` : '';
      return `[${e.step}] ${e.executor} job ${e.jobId} ${e.state}${where}${e.reason ? `: ${e.reason}` : ''}${when}\n`;
    }
  }
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
