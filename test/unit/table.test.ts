// The fixture tests rebuild tables printed by Python dws 1.6 and compare bytes. The edge-case
// expectations were printed by the Python 1.6 `print_utils.print_columns` itself and hard-coded.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatColumns } from '../../clients/cli/table.js';
import type { ColumnSpec } from '../../clients/cli/table.js';
import { PyFloat, parsePyJson, pyStr } from '../../server/workspace/pyjson.js';

const EXPECTED_DIR = fileURLToPath(new URL('../fixtures/python-dws-1.6/expected/', import.meta.url));

function expected(name: string): string {
  return readFileSync(EXPECTED_DIR + name, 'utf8');
}

function readJson(name: string): unknown {
  return parsePyJson(expected('dataworkspace/' + name));
}

/** Joins expected lines, each followed by a newline, as formatColumns returns them. */
function table(...lines: string[]): string {
  return lines.map((l) => l + '\n').join('');
}

// --- Data of the fixture workspace, read from the files Python wrote -----------------------------

interface SnapshotMetadata {
  hash: string;
  tags: string[];
  message: string;
  timestamp: string;
  metrics: Record<string, unknown> | null;
}

const SNAPSHOT_HASHES = [
  '78ac19434c048cf140052627561c337d8b7cb4b6',
  '7fca31ff6a22fee9721f9c2941e2e8cc4650f903',
  'e2cbb8e19eb52338512e1ab3823f46278bc71730',
];

/** `report history`'s table, built as report.py builds it (metric names as Counter picked them). */
function historyTable(limit?: number): string {
  const history = SNAPSHOT_HASHES.map((h) => readJson(`snapshot_metadata/${h}_md.json`) as SnapshotMetadata)
    .sort((a, b) => b.timestamp.localeCompare(a.timestamp))
    .slice(0, limit);
  const metricNames = ['sum', 'mean'];
  const spec: Record<string, ColumnSpec> = { Hash: { width: 8 }, Tags: { width: 20 }, Created: { width: 19 }, Message: { width: 30 } };
  const columns: Array<[string, unknown[]]> = [
    ['Hash', history.map((md) => md.hash.slice(0, 7))],
    ['Tags', history.map((md) => md.tags.join(', '))],
    ['Created', history.map((md) => md.timestamp.slice(0, -7))],
  ];
  for (const m of metricNames) {
    columns.push([m, history.map((md) => md.metrics?.[m] ?? null)]);
    spec[m] = { width: 25, truncate: true };
  }
  columns.push(['Message', history.map((md) => md.message)]);
  const footer = limit !== undefined && history.length === limit ? `Showing first ${limit} snapshots` : `${history.length} snapshots total`;
  return formatColumns(columns, { nullValue: '', spec, title: 'History of snapshots' }) + footer + '\n';
}

/** `report status`, built as report.py builds it. */
function statusOutput(): string {
  const resources = readJson('resources.json') as Array<Record<string, unknown>>;
  const roles = ['source-data', 'intermediate-data', 'code', 'results'];
  const rows = roles.flatMap((role) => resources.filter((r) => r.role === role));
  const params = rows.map((r) =>
    Object.entries(r)
      .filter(([k]) => !['resource_type', 'name', 'role'].includes(k))
      .map(([k, v]) => `${k}=${pyStr(v)}`)
      .join(',\n'),
  );
  return (
    'Status for workspace: python-workspace\n' +
    formatColumns(
      [
        ['Resource', rows.map((r) => r.name)],
        ['Role', rows.map((r) => r.role)],
        ['Type', rows.map((r) => r.resource_type)],
        ['Parameters', params],
      ],
      { nullValue: '', title: 'Resources for workspace: python-workspace' },
    )
  );
}

/** `config` listings: Name/Scope/Value/Default?/Description, Description width 40. */
function configTable(rows: Array<[name: string, scope: string, value: unknown, isDefault: string, help: string]>): string {
  return (
    formatColumns(
      [
        ['Name', rows.map((r) => r[0])],
        ['Scope', rows.map((r) => r[1])],
        ['Value', rows.map((r) => r[2])],
        ['Default?', rows.map((r) => r[3])],
        ['Description', rows.map((r) => r[4])],
      ],
      { spec: { Description: { width: 40 } } },
    ) + '\n'
  );
}

/** `report results`: Key/Value tables, each preceded by an empty line, with Python's default nulls. */
function resultsOutput(path: string, data: Record<string, unknown>): string {
  let out = `Results file at ${path}\n`;
  const dictTable = (d: Record<string, unknown>, name: string): void => {
    const entries = Object.entries(d).filter(([, v]) => typeof v !== 'object' || v === null || v instanceof PyFloat);
    out += '\n' + formatColumns([['Key', entries.map(([k]) => k)], ['Value', entries.map(([, v]) => v)]], { title: name });
  };
  dictTable(data, 'General Properties');
  if (data.parameters) dictTable(data.parameters as Record<string, unknown>, 'Parameters');
  if (data.metrics) dictTable(data.metrics as Record<string, unknown>, 'Metrics');
  return out;
}

const WS = '/tmp/dwsref/fixtures/build/python-workspace';
const HELP = {
  resourceType: 'Type of this resource (e.g. git, local_files, api, etc.)',
  name: 'Name of the resource',
  role: 'Resource role (source-data, intermediate-data, code, results)',
  export: 'True if metadata for export should be added each snapshot',
  relativePath: "Path of resource's directory relative to the workspace root",
  localPath: 'Always points to the root of this resource (not necessarily the root of the repo)',
};

describe('formatColumns reproduces the Python dws fixture outputs', () => {
  it('report-history.txt (metric columns: ints, PyFloat 4.0, float 7.5, nulls)', () => {
    expect(historyTable()).toBe(expected('report-history.txt'));
  });

  it('report-history-limit2.txt', () => {
    expect(historyTable(2)).toBe(expected('report-history-limit2.txt'));
  });

  it('report-history.txt from literal values', () => {
    const out = formatColumns(
      [
        ['Hash', ['e2cbb8e', '7fca31f', '78ac194']],
        ['Tags', ['v3', 'v2', 'v1']],
        ['Created', ['2026-11-25T16:35:33', '2026-11-25T16:35:31', '2026-11-25T16:35:29']],
        ['sum', [30, 12, null]],
        ['mean', [7.5, new PyFloat(4), null]],
        ['Message', ['third snapshot', 'second snapshot, with lineage', 'first snapshot']],
      ],
      {
        nullValue: '',
        title: 'History of snapshots',
        spec: {
          Hash: { width: 8 },
          Tags: { width: 20 },
          Created: { width: 19 },
          Message: { width: 30 },
          sum: { width: 25, truncate: true },
          mean: { width: 25, truncate: true },
        },
      },
    );
    expect(out + '3 snapshots total\n').toBe(expected('report-history.txt'));
  });

  it('status.txt and report-status.txt (multi-line Parameters cells)', () => {
    expect(statusOutput()).toBe(expected('status.txt'));
    expect(statusOutput()).toBe(expected('report-status.txt'));
  });

  it('status-history.txt', () => {
    expect(statusOutput() + '\n\n' + historyTable()).toBe(expected('status-history.txt'));
  });

  it('config.txt (Description hard-wrapped at 40, list value, None)', () => {
    const config = readJson('config.json') as { global_params: Record<string, unknown> };
    const g = config.global_params;
    const out = configTable([
      ['results.dir_template', 'global', g['results.dir_template'], 'Y', 'Template describing where results files will be moved during snapshot'],
      ['results.move_exclude_files', 'global', g['results.move_exclude_files'], 'Y', 'List of files to exclude when moving results to a subdirectory during snapshot.'],
      ['scratch_directory', 'global', g.scratch_directory, 'N', 'Directory where scratch files are stored (checkpoints, temporary data, etc.). If this is set, it is relative to the workspace directory.'],
      ['dws_git_branch', 'global', g.dws_git_branch, 'N', 'Name of git branch for the main dws repository. This is set when the dws workspace is initialized to the current branch.'],
      ['hostname', 'local', 'fixture-host', 'N', 'Hostname to identify this machine in snapshots.'],
      ['local_scratch_directory', 'local', null, 'Y', 'Directory where scratch files are stored (checkpoints, temporary data, etc.). If this is set, it is absolute and only specific to the local machine.'],
    ]);
    expect(out).toBe(expected('config.txt'));
  });

  it('config-resource-code.txt and config-resource-results.txt', () => {
    for (const name of ['code', 'results']) {
      const out = configTable([
        ['resource_type', 'global', 'git-subdirectory', 'N', HELP.resourceType],
        ['name', 'global', name, 'N', HELP.name],
        ['role', 'global', name, 'N', HELP.role],
        ['export', 'global', false, 'Y', HELP.export],
        ['relative_path', 'global', name, 'N', HELP.relativePath],
        ['local_path', 'local', `${WS}/${name}`, 'N', HELP.localPath],
      ]);
      expect(out).toBe(expected(`config-resource-${name}.txt`));
    }
  });

  it('config-resource-source-data.txt (booleans in a mixed column are left-aligned)', () => {
    const out = configTable([
      ['resource_type', 'global', 'file', 'N', HELP.resourceType],
      ['name', 'global', 'source-data', 'N', HELP.name],
      ['role', 'global', 'source-data', 'N', HELP.role],
      ['global_local_path', 'global', `${WS}/source-data`, 'N', 'Location of files on local filesystem, as defined when the resource is created. May be overridden locally via my_local_path.'],
      ['compute_hash', 'global', true, 'N', 'If True, then compute the full hash of all files rather than using sizes.'],
      ['export', 'global', false, 'Y', HELP.export],
      ['imported', 'global', false, 'Y', 'If True, then this resource has lineage imported from another workspace'],
      ['my_local_path', 'local', null, 'Y', 'Override of global_local_path, just for this instance of the workspace.'],
    ]);
    expect(out).toBe(expected('config-resource-source-data.txt'));
  });

  it('config-hostname.txt and config-dir-template.txt (one-row tables, width 60)', () => {
    const one = (title: string, value: string, scope: string, isDefault: string, help: string): string =>
      `${title}\n${'='.repeat(title.length)}\n\n` +
      formatColumns(
        [['Value', [value]], ['Scope', [scope]], ['Default?', [isDefault]], ['Description', [help]]],
        { spec: { Description: { width: 60 } } },
      ) +
      '\n';
    expect(one("Workspace parameter 'hostname'", 'fixture-host', 'local', 'N', 'Hostname to identify this machine in snapshots.')).toBe(
      expected('config-hostname.txt'),
    );
    expect(
      one("Workspace parameter 'results.dir_template'", 'snapshots/{HOSTNAME}-{TAG}', 'global', 'Y', 'Template describing where results files will be moved during snapshot'),
    ).toBe(expected('config-dir-template.txt'));
  });

  it('report-results*.txt (float rounding; a float in a text column is left-aligned)', () => {
    // The results.json files of the fixture workspace (in workspace.tar.gz), as Python wrote them.
    const v1 = '{"step": "manual", "metrics": {"accuracy": 0.5}}';
    const v2 =
      '{"step": "train", "start_time": "2026-11-25T16:35:30.951541", "execution_time_seconds": 0.021242, ' +
      '"parameters": {"alpha": 0.5}, "run_description": "fixture run", "metrics": {"sum": 12, "mean": 4.0, "alpha": 0.5}}';
    const v3 =
      '{"step": "train", "start_time": "2026-11-25T16:35:33.219154", "execution_time_seconds": 0.020449, ' +
      '"parameters": {"alpha": 0.25}, "run_description": "fixture run", "metrics": {"sum": 30, "mean": 7.5, "alpha": 0.25}}';
    const results = (s: string): Record<string, unknown> => parsePyJson(s) as Record<string, unknown>;
    expect(resultsOutput('results:/snapshots/fixture-host-v1/results.json', results(v1))).toBe(expected('report-results-v1.txt'));
    expect(resultsOutput('results:/snapshots/fixture-host-v2/results.json', results(v2))).toBe(expected('report-results-v2.txt'));
    expect(resultsOutput('results:/snapshots/fixture-host-v3/results.json', results(v3))).toBe(expected('report-results.txt'));
  });

  it('report-lineage*.txt (default null value None; no rows)', () => {
    const lineage = (title: string, rows: string[][]): string =>
      formatColumns(
        [
          ['Resource', rows.map((r) => r[0])],
          ['Type', rows.map((r) => r[1])],
          ['Details', rows.map((r) => r[2])],
          ['Inputs', rows.map((r) => r[3] ?? null)],
        ],
        { title },
      );
    expect(
      lineage('Lineage for current state', [
        ['intermediate-data:/prepared', 'Step', 'prepare at 2026-11-25 16:35:32.978474', 'source-data (current)'],
        ['source-data', 'Source Data', 'Hash:5acfacd8'],
        ['code', 'Code', 'Hash:76cf6a44'],
      ]),
    ).toBe(expected('report-lineage.txt'));
    expect(lineage('Lineage for v1', [])).toBe(expected('report-lineage-v1.txt'));
  });

  it('the example of cli.md §1.6', () => {
    const out = formatColumns(
      [
        ['Hash', ['bcbc2f8', '9a4e7dd']],
        ['Tags', ['TAG2', 'TAG1']],
        ['Created', ['2026-11-25T16:32:06', '2026-11-25T16:31:55']],
        ['accuracy', [0.95, null]],
        ['loss', [new PyFloat(1), null]],
        ['Message', ['second snapshot', "'test of restore short hash'"]],
      ],
      {
        nullValue: '',
        title: 'History of snapshots',
        spec: {
          Hash: { width: 8 },
          Tags: { width: 20 },
          Created: { width: 19 },
          Message: { width: 30 },
          accuracy: { width: 25, truncate: true },
          loss: { width: 25, truncate: true },
        },
      },
    );
    expect(out).toBe(
      table(
        'History of snapshots',
        '| Hash    | Tags | Created             | accuracy | loss | Message                      |',
        '|_________|______|_____________________|__________|______|______________________________|',
        "| bcbc2f8 | TAG2 | 2026-11-25T16:32:06 |     0.95 |  1.0 | second snapshot              |",
        "| 9a4e7dd | TAG1 | 2026-11-25T16:31:55 |          |      | 'test of restore short hash' |",
      ),
    );
  });
});

describe('formatColumns edge cases (expectations printed by Python print_columns)', () => {
  it('wraps numeric columns, padding only the last piece on the left', () => {
    const out = formatColumns([['n', [123456789, 1.5, null]], ['b', [true, false, null]]], { spec: { n: { width: 4 } } });
    expect(out).toBe(
      table(
        '| n    | b     |',
        '|______|_______|',
        '| 1234 |  True |',
        '| 5678 |       |',
        '|    9 |       |',
        '|  1.5 | False |',
        '| None |  None |',
      ),
    );
    expect(formatColumns([['n', [1234567890, 1]]], { spec: { n: { width: 4 } } })).toBe(
      table('| n    |', '|______|', '| 1234 |', '| 5678 |', '|   90 |', '|    1 |'),
    );
  });

  it('wraps text columns; "" is null but makes the column textual', () => {
    const out = formatColumns(
      [['s', ['abcdefghij', 'abcd', 'abcdefgh', '']], ['e', ['', null, 'x', 'y']]],
      { spec: { s: { width: 4 } } },
    );
    expect(out).toBe(
      table(
        '| s    | e    |',
        '|______|______|',
        '| abcd | None |',
        '| efgh |      |',
        '| ij   |      |',
        '| abcd | None |',
        '| abcd | x    |',
        '| efgh |      |',
        '| None | y    |',
      ),
    );
  });

  it('wraps exact multiples of the width and each line of a multi-line value', () => {
    expect(formatColumns([['s', ['abcdefgh', 'abc\nabcdefghi']]], { spec: { s: { width: 4 } } })).toBe(
      table('| s    |', '|______|', '| abcd |', '| efgh |', '| abc  |', '| abcd |', '| efgh |', '| i    |'),
    );
  });

  it('truncates values longer than width-2 when the width limit applies', () => {
    const out = formatColumns([['t', ['abcdef', 'abcde', 'abcd', 'abc', 'ab']], ['x', [1, 2, 3, 4, 5]]], {
      spec: { t: { width: 5, truncate: true } },
    });
    expect(out).toBe(
      table('| t     | x |', '|_______|___|', '| abc.. | 1 |', '| abc.. | 2 |', '| abc.. | 3 |', '| abc   | 4 |', '| ab    | 5 |'),
    );
  });

  it('does not truncate when the content is narrower than the spec width', () => {
    expect(formatColumns([['t', ['abc', 'ab']]], { spec: { t: { width: 5, truncate: true } } })).toBe(
      table('| t   |', '|_____|', '| abc |', '| ab  |'),
    );
  });

  it('truncates a multi-line value at its first line (Python 1.6 crashes here; this is its intent)', () => {
    expect(formatColumns([['t', ['ab\ncd', 'abcdefgh']]], { spec: { t: { width: 5, truncate: true } } })).toBe(
      table('| t     |', '|_______|', '| ab..  |', '| abc.. |'),
    );
  });

  it('wraps a header longer than the spec width', () => {
    expect(formatColumns([['longheader', ['a', 'b']]], { spec: { longheader: { width: 4 } } })).toBe(
      table('| long |', '| head |', '| er   |', '|______|', '| a    |', '| b    |'),
    );
  });

  it('rounds and renders floats like Python', () => {
    // A JS -0 is integral, so an int: Python's -0.0 needs a PyFloat.
    const values = [0.0005, 2.675, 0.125, 7.45, -0.9995, 1e20, 1e-7, NaN, Infinity, 12345678901234567890n, new PyFloat(-0)];
    expect(formatColumns([['f', values]])).toBe(
      table(
        '| f                    |',
        '|______________________|',
        '|                0.001 |',
        '|                  2.7 |',
        '|                0.125 |',
        '|                  7.5 |',
        '|                 -1.0 |',
        '|                1e+20 |',
        '|                  0.0 |',
        '|                  nan |',
        '|                  inf |',
        '| 12345678901234567890 |',
        '|                 -0.0 |',
      ),
    );
  });

  it('prints multi-line titles and fills shorter cells of multi-line rows', () => {
    const out = formatColumns([['a', ['x\ny\nz', 'p']], ['b', ['q', 'r\n\ns']], ['c', [1, 2]]], { title: 'Title one\nTitle two' });
    expect(out).toBe(
      table(
        'Title one',
        'Title two',
        '| a | b | c |',
        '|___|___|___|',
        '| x | q | 1 |',
        '| y |   |   |',
        '| z |   |   |',
        '| p | r | 2 |',
        '|   |   |   |',
        '|   | s |   |',
      ),
    );
  });

  it('renders containers with Python str()', () => {
    const out = formatColumns([['v', [['a', 1, null], { k: 1.5, x: "it's" }, 'plain']], ['w', ['(1, 2)', 3, 4]]]);
    expect(out).toBe(
      table(
        '| v                       | w      |',
        '|_________________________|________|',
        "| ['a', 1, None]          | (1, 2) |",
        `| {'k': 1.5, 'x': "it's"} | 3      |`,
        '| plain                   | 4      |',
      ),
    );
  });

  it('counts width in code points, like Python len()', () => {
    expect(formatColumns([['e', ['😀😀', 'ab']], ['n', [1, 22]]])).toBe(
      table('| e  | n  |', '|____|____|', '| 😀😀 |  1 |', '| ab | 22 |'),
    );
  });

  it('prints headers and divider for a table without rows', () => {
    expect(formatColumns([['A', []], ['Bcd', []]])).toBe(table('| A | Bcd |', '|___|_____|'));
  });

  it('uses the null value for null, undefined and "" only', () => {
    expect(formatColumns([['a', [null, '', 0, false, undefined]]], { nullValue: '-' })).toBe(
      table('| a     |', '|_______|', '| -     |', '| -     |', '| 0     |', '| False |', '| -     |'),
    );
  });

  it('defaults the null value to None, as Python does', () => {
    expect(formatColumns([['a', [null]]])).toBe(table('| a    |', '|______|', '| None |'));
  });

  it('prints an empty header line and "||" for no columns, as Python does', () => {
    expect(formatColumns([])).toBe(table('', '||'));
  });

  it('rejects inconsistent input', () => {
    expect(() => formatColumns([['a', [1, 2]], ['b', [1]]])).toThrow("Column 'b' has 1 values, expected 2");
    expect(() => formatColumns([['a', ['x']]], { spec: { a: { width: 0 } } })).toThrow(RangeError);
    expect(() => formatColumns([['a', ['xxxx']]], { spec: { a: { width: 3, truncate: true } } })).toThrow('too short to truncate');
  });

  it('ignores spec entries inherited from Object.prototype', () => {
    expect(formatColumns([['constructor', ['x']]], { spec: {} })).toBe(table('| constructor |', '|_____________|', '| x           |'));
  });
});
