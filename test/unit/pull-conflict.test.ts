/** The hint of a pull whose workspace merge conflicts: one clause per kind of conflicted file. */
import { describe, expect, it } from 'vitest';
import { conflictHint } from '../../server/commands/pull.js';

describe('conflictHint', () => {
  it('names each conflicted file under the advice for its kind, in a fixed order of kinds', () => {
    const md = '.dataworkspace/snapshot_metadata/0123456789012345678901234567890123456789_md.json';
    const lineage = '.dataworkspace/snapshot_lineage/0123456789012345678901234567890123456789/results.json';
    expect(conflictHint(['results/results.json', lineage, md, '.dataworkspace/resources.json', '.dataworkspace/config.json'])).toBe(
      "in .dataworkspace/resources.json keep both sides' entries; " +
        `in ${md}, a snapshot both sides changed, keep both sides' tags (or 'git rm' it if it should stay deleted); ` +
        `of ${lineage}, lineage both sides recorded for the same snapshot, keep one side's whole file ('git checkout --ours -- <file>' or --theirs); ` +
        'in .dataworkspace/config.json keep the settings both sides need; ' +
        'in results/results.json, resource files both sides changed, keep the content you want (a snapshot after the pull records it)',
    );
    expect(conflictHint(['.dataworkspace/resources.json'])).toBe("in .dataworkspace/resources.json keep both sides' entries");
  });
});
