/**
 * The table printer of Python dws (`utils/print_utils.print_columns`), returning the text.
 * Used by `report`, `status` and `config`; its output must match Python's byte for byte.
 *
 * Lengths are counted in code points, as Python's `len()` does, so padding and wrapping agree
 * with Python for characters outside the BMP too.
 */
import { isPyFloat, isPyNumber, numberValue, pyFloatRepr, pyRound, pyStr } from '../../server/workspace/pyjson.js';
import type { PyNumber } from '../../server/workspace/pyjson.js';

export interface ColumnSpec {
  /** Maximum column width (excluding the one-space padding on each side). */
  width?: number;
  /** When the width limit applies, cut long values to width-2 chars plus `..` instead of wrapping. */
  truncate?: boolean;
}

export interface FormatColumnsOptions {
  /** Text for `null`/`undefined`/`""` values. Python's default is `'None'`. */
  nullValue?: string;
  /** Per-column width limits, by header. */
  spec?: Record<string, ColumnSpec>;
  /** Printed before the header row. */
  title?: string;
}

/**
 * Formats `columns` (header, values; all columns the same length) as Python's print_columns
 * prints them. Returns the lines each followed by `\n`.
 */
export function formatColumns(
  columns: Array<[header: string, values: unknown[]]>,
  options: FormatColumnsOptions = {},
): string {
  const { nullValue = 'None', spec = {}, title } = options;
  const nitems = columns[0]?.[1].length ?? 0;
  const widths: number[] = [];
  const headerCells: string[][] = [];
  const valueCells: string[][][] = []; // [column][row] -> lines
  for (const [header, values] of columns) {
    if (values.length !== nitems) {
      throw new RangeError(`Column '${header}' has ${values.length} values, expected ${nitems}`);
    }
    const strValues = values.map((v) => cellText(v, nullValue));
    // As in Python, nulls leave a column numeric, but "" does not (it is a str), although it
    // prints as the null value.
    const numeric = values.every((v) => v === null || v === undefined || isPyNumber(v) || typeof v === 'boolean');
    const needed = strValues.reduce((max, s) => Math.max(max, longestLine(s)), cpLength(header));

    let width = needed;
    let truncate = false;
    const cspec = Object.hasOwn(spec, header) ? spec[header] : undefined;
    if (cspec?.width !== undefined) {
      if (!Number.isInteger(cspec.width) || cspec.width < 1) {
        throw new RangeError(`Column '${header}': width must be a positive integer`);
      }
      // The spec width is a maximum: a column whose content is narrower stays narrower.
      if (needed >= cspec.width) {
        width = cspec.width;
        if (cspec.truncate) {
          if (width <= 3) throw new RangeError(`Column '${header}' too short to truncate`);
          truncate = true;
        }
      }
    }
    widths.push(width);
    headerCells.push(pad(header, width, 'left'));
    const align = numeric ? 'right' : 'left';
    valueCells.push(strValues.map((s) => pad(truncate ? truncateText(s, width) : s, width, align)));
  }

  const lines: string[] = title === undefined ? [] : title.split('\n');
  lines.push(...formatRow(headerCells, widths));
  lines.push('|' + widths.map((w) => '_'.repeat(w + 2)).join('|') + '|');
  for (let row = 0; row < nitems; row++) {
    lines.push(...formatRow(valueCells.map((col) => col[row] ?? []), widths));
  }
  return lines.map((line) => line + '\n').join('');
}

/** The display text of one value: floats rounded for display, nulls replaced, else Python str(). */
function cellText(v: unknown, nullValue: string): string {
  if (v === null || v === undefined || v === '') return nullValue;
  if (isPyFloat(v)) {
    const f = numberValue(v as PyNumber);
    // Small magnitudes keep 3 decimals, others 1 (Python's precision -1 default).
    return pyFloatRepr(f > -1 && f < 1 ? pyRound(f, 3) : pyRound(f, 1));
  }
  return pyStr(v);
}

/** Python's len(): code points, not UTF-16 units. */
function cpLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function longestLine(s: string): number {
  return s.split('\n').reduce((max, line) => Math.max(max, cpLength(line)), 0);
}

/**
 * Python's `_truncate`: keep the first line, cut to width-2 chars, and mark any cut with `..`.
 * (Python 1.6 crashes with a TypeError on a multi-line value here, `s[0, s.index("\n")]`; this
 * implements the evident intent instead.)
 */
function truncateText(s: string, width: number): string {
  let text = s;
  let truncated = false;
  const nl = text.indexOf('\n');
  if (nl !== -1) {
    text = text.slice(0, nl);
    truncated = true;
  }
  const chars = Array.from(text);
  if (chars.length > width - 2) {
    text = chars.slice(0, width - 2).join('');
    truncated = true;
  }
  return truncated ? text + '..' : text;
}

/**
 * Python's pad_left/pad_right: each `\n`-separated fragment is padded to `width`; a fragment
 * longer than `width` is hard-wrapped into `width`-char lines, only the last piece being padded.
 * `align` is the side the text sticks to.
 */
function pad(s: string, width: number, align: 'left' | 'right'): string[] {
  const lines: string[] = [];
  for (const fragment of s.split('\n')) {
    let chars = Array.from(fragment);
    while (chars.length > width) {
      lines.push(chars.slice(0, width).join(''));
      chars = chars.slice(width);
    }
    // The remainder (1..width chars, or an empty fragment) is padded; full chunks are not.
    const fill = ' '.repeat(width - chars.length);
    const text = chars.join('');
    lines.push(align === 'left' ? text + fill : fill + text);
  }
  return lines;
}

/** One table row, as many lines as its tallest cell; shorter cells are filled with blanks. */
function formatRow(cells: string[][], widths: number[]): string[] {
  const height = Math.max(0, ...cells.map((c) => c.length));
  const lines: string[] = [];
  for (let i = 0; i < height; i++) {
    let line = '';
    cells.forEach((cell, col) => {
      const text = cell[i];
      line += text === undefined ? '|' + ' '.repeat((widths[col] ?? 0) + 2) : '| ' + text + ' ';
    });
    lines.push(line + '|');
  }
  // Python's format_row yields one empty line for a table without columns.
  return lines.length > 0 ? lines : [''];
}
