/** The results directory template (workspace-format §9), with dws 1.6's own test cases. */
import { describe, expect, it } from 'vitest';
import { expandTemplate, noRoomForTag, tagRoom, templateExcludeRegex, validateTemplate } from '../../server/workspace/results-template.js';

describe('results directory template', () => {
  const base = { username: 'jfischer', hostname: 'localhost', snapshotNumber: 22, timestamp: '2018-09-30T18:19:54.123456' };

  it('expands every variable as dws 1.6 does', () => {
    expect(expandTemplate('snapshots/{ISO_TIMESTAMP}/{USERNAME}-{TAG}', { ...base, tag: 'V1' })).toBe('snapshots/2018-09-30T18:19:54/jfischer-V1');
    expect(expandTemplate('results/{YEAR}-{MONTH}/{DAY}.{DAY_OF_WEEK}-{TAG}-{HOSTNAME}', { ...base, tag: null })).toBe('results/2018-09/30.Sunday-022-localhost');
    expect(expandTemplate('snapshots/{SHORT_MONTH}{HOUR}{MIN}{SEC}-{SNAPSHOT_NO}', { ...base, tag: null })).toBe('snapshots/Sep181954-022');
  });

  it('matches directories made from the template, not their parents', () => {
    const re = templateExcludeRegex('snapshots/{HOSTNAME}-{TAG}');
    expect(re.test('snapshots/h1-V1')).toBe(true);
    expect(re.test('snapshots')).toBe(false);
    expect(re.test('snapshots/h1-V1/sub')).toBe(false);
  });

  it('also matches the earlier snapshots\' directories, exactly', () => {
    const re = templateExcludeRegex('snapshots/{TAG}-new', ['snapshots/h1-v1', 'snapshots/a.b']);
    expect(re.test('snapshots/v2-new')).toBe(true);
    expect(re.test('snapshots/h1-v1')).toBe(true);
    expect(re.test('snapshots/a.b')).toBe(true);
    expect(re.test('snapshots/axb')).toBe(false);
    expect(re.test('snapshots/h1-v1/sub')).toBe(false);
    expect(re.test('snapshots/h1-v2')).toBe(false);
  });

  it("gives a tag the room its results directory name leaves in a file name's 255 bytes", () => {
    const v = { username: 'jfischer', hostname: 'localhost', snapshotNumber: 22, timestamp: '2018-09-30T18:19:54.123456' };
    expect(tagRoom('snapshots/{HOSTNAME}-{TAG}', v)).toEqual({ limit: 245, name: 'localhost-{TAG}' });
    // The tightest directory name counts; a tag twice in one name shares it; the day at its longest ('Wednesday').
    expect(tagRoom('snapshots/{TAG}/{USERNAME}-{TAG}.{TAG}', v)).toEqual({ limit: 122, name: 'jfischer-{TAG}.{TAG}' });
    expect(tagRoom('snapshots/{DAY_OF_WEEK}-{SNAPSHOT_NO}-{TAG}', v)).toEqual({ limit: 241, name: 'Wednesday-022-{TAG}' });
    expect(tagRoom('snapshots/{HOSTNAME}', v)).toEqual({ limit: 255, name: null });
  });

  it('finds the directory name a hostname or template leave no room in for the tag (or the untagged number)', () => {
    const v = { username: 'jfischer', hostname: 'localhost', snapshotNumber: 22, timestamp: '2018-09-30T18:19:54.123456' };
    expect(noRoomForTag('snapshots/{HOSTNAME}-{TAG}', v, true)).toBeNull();
    const h = { ...v, hostname: 'h'.repeat(254) };
    // 255 bytes with '-': one more for the shortest tag is too many; an untagged snapshot needs 3 ('022').
    expect(noRoomForTag('snapshots/{HOSTNAME}-{TAG}', { ...v, hostname: 'h'.repeat(253) }, true)).toBeNull();
    expect(noRoomForTag('snapshots/{HOSTNAME}-{TAG}', { ...v, hostname: 'h'.repeat(253) }, false)).toEqual({ name: `${'h'.repeat(253)}-{TAG}`, bytes: 254, tags: 1 });
    expect(noRoomForTag('snapshots/{HOSTNAME}-{TAG}', h, true)).toEqual({ name: `${'h'.repeat(254)}-{TAG}`, bytes: 255, tags: 1 });
    // A name without {TAG} counts too; a tag twice needs room twice.
    expect(noRoomForTag('snapshots/{HOSTNAME}x/{TAG}', h, true)).toBeNull();
    expect(noRoomForTag('snapshots/{HOSTNAME}xy/{TAG}', h, true)).toEqual({ name: `${'h'.repeat(254)}xy`, bytes: 256, tags: 0 });
    expect(noRoomForTag('snapshots/{TAG}.{TAG}', { ...v, hostname: 'x' }, false)).toBeNull();
  });

  it('refuses unknown variables and templates outside snapshots/', () => {
    expect(() => validateTemplate('snapshots/{HOST}-{TAG}')).toThrow("Unknown variable 'HOST' in results directory template 'snapshots/{HOST}-{TAG}'");
    expect(() => validateTemplate('out/{TAG}')).toThrow("must start with 'snapshots/'");
    expect(() => validateTemplate('snapshots/{HOSTNAME}-{TAG}')).not.toThrow();
  });
});
