/**
 * Python-compatible JSON and display helpers.
 *
 * Every JSON file of a dws workspace is written by Python `json.dump(obj, indent=2)`, and tables
 * print values with Python `str()`. JavaScript's JSON loses the int/float distinction (`4.0` reads
 * back as `4` and would be written as `4`), formats floats differently (`1e-5` vs Python `1e-05`)
 * and does not escape non-ASCII. This module reads JSON keeping what is needed to write it back
 * byte for byte, writes it exactly as Python does, and renders values as Python's `str`/`repr`.
 *
 * Number model (what a parsed value holds, and how the writers classify JS values):
 * - Python int  -> JS `number` when integral with |v| < 1e16, else `bigint` (the parser returns
 *   a bigint for integer literals outside the safe-integer range so they are not rounded).
 * - Python float -> a non-integral JS `number` (including NaN/±Infinity), or a {@link PyFloat}
 *   when the value is integral (`4.0`, `1e+16`): the wrapper keeps the "was a float" bit.
 *   An integral JS number with |v| >= 1e16 is also treated as a float (Python `repr` form), since
 *   it cannot have come from a Python int of that size without being a bigint.
 */

/** A Python float whose value is integral (e.g. `4.0`), so it keeps its float form when written. */
export class PyFloat {
  constructor(readonly value: number) {}
}

export type PyNumber = number | bigint | PyFloat;

/** Integral JS numbers at or above this magnitude are written as floats (see module comment). */
const MAX_INT_MAGNITUDE = 1e16;

/** True for the values Python would see as int or float (booleans excluded). */
export function isPyNumber(v: unknown): v is PyNumber {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof PyFloat;
}

/** True if `v` is a Python float: a PyFloat, or a JS number that is not a "small" integer. */
export function isPyFloat(v: unknown): boolean {
  if (v instanceof PyFloat) return true;
  return typeof v === 'number' && !(Number.isInteger(v) && Math.abs(v) < MAX_INT_MAGNITUDE);
}

/** The numeric value of a Python number as a JS number (bigints may lose precision). */
export function numberValue(v: PyNumber): number {
  return v instanceof PyFloat ? v.value : Number(v);
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/**
 * A JSON syntax error, with the 1-based line and column of the offending character (the column
 * counts UTF-16 code units, so a character outside the BMP before it counts twice).
 */
export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${message} at line ${line} column ${column}`);
    this.name = 'JsonSyntaxError';
  }
}

// Character codes used by the scanner.
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const UPPER_E = 0x45;
const LOWER_E = 0x65;
const LBRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/** What ends an unescaped run inside a string: the closing quote, an escape, a control char. */
const STRING_STOP_RE = /["\\\x00-\x1f]/g;

/** Literal words: JSON's, plus the non-finite floats that Python's json module reads and writes. */
const LITERALS: ReadonlyArray<[string, unknown]> = [
  ['true', true],
  ['false', false],
  ['null', null],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
];

/**
 * Parse JSON text like Python's `json.loads`: RFC 8259 plus bare `NaN`, `Infinity`, `-Infinity`;
 * control characters inside strings are rejected (Python's default `strict=True`).
 *
 * Objects keep the key order of the text, except that JS objects always enumerate integer-like
 * keys ("0", "42") first in ascending order: a file with such keys would be rewritten with its
 * keys reordered. dws files do not use such keys, so this limitation is accepted.
 * Duplicate keys keep the last value at the first key's position, as Python's dict does.
 */
export function parsePyJson(text: string): unknown {
  return new Parser(text).parseDocument();
}

/**
 * Deepest nesting of arrays and objects accepted. dws files nest a few levels; without a bound a
 * hand-made file of 100,000 '[' overflowed the stack ("Maximum call stack size exceeded") here
 * or in any recursive walk of the value (issue 13 item 4). Python's json stops near 1,000.
 */
export const MAX_JSON_DEPTH = 512;

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly text: string) {}

  parseDocument(): unknown {
    this.skipWhitespace();
    const value = this.parseValue();
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail();
    return value;
  }

  private skipWhitespace(): void {
    const text = this.text;
    let pos = this.pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === SPACE || c === LF || c === CR || c === TAB) pos++;
      else break;
    }
    this.pos = pos;
  }

  private parseValue(): unknown {
    const c = this.text.charCodeAt(this.pos);
    if (c === QUOTE) return this.parseString();
    if (c === LBRACE) return this.parseObject();
    if (c === LBRACKET) return this.parseArray();
    if (c === MINUS || (c >= ZERO && c <= NINE)) {
      // "-Infinity" starts like a number.
      if (c !== MINUS || this.text.charCodeAt(this.pos + 1) !== 0x49 /* I */) return this.parseNumber();
    }
    for (const [word, value] of LITERALS) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    return this.fail();
  }

  private enter(): void {
    if (++this.depth > MAX_JSON_DEPTH) this.fail(`Nested deeper than ${MAX_JSON_DEPTH} levels of lists and objects`);
  }

  private parseObject(): Record<string, unknown> {
    this.enter();
    const obj: Record<string, unknown> = {};
    this.pos++; // '{'
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === RBRACE) {
      this.pos++;
      this.depth--;
      return obj;
    }
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== QUOTE) this.fail();
      const key = this.parseString();
      this.skipWhitespace();
      this.expect(COLON);
      this.skipWhitespace();
      const value = this.parseValue();
      if (key === '__proto__') {
        // A plain assignment would set the prototype instead of creating an own property.
        Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
      } else {
        obj[key] = value;
      }
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === COMMA) {
        this.pos++;
        this.skipWhitespace();
      } else if (c === RBRACE) {
        this.pos++;
        this.depth--;
        return obj;
      } else {
        this.fail();
      }
    }
  }

  private parseArray(): unknown[] {
    this.enter();
    const arr: unknown[] = [];
    this.pos++; // '['
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === RBRACKET) {
      this.pos++;
      this.depth--;
      return arr;
    }
    for (;;) {
      arr.push(this.parseValue());
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === COMMA) {
        this.pos++;
        this.skipWhitespace();
      } else if (c === RBRACKET) {
        this.pos++;
        this.depth--;
        return arr;
      } else {
        this.fail();
      }
    }
  }

  /**
   * Parses a string starting at the opening quote. Runs without escapes are found with a regex
   * search and sliced, so long strings are not copied character by character.
   */
  private parseString(): string {
    const text = this.text;
    let runStart = this.pos + 1;
    let parts: string[] | undefined; // only allocated once an escape is seen
    for (;;) {
      STRING_STOP_RE.lastIndex = runStart;
      const pos = STRING_STOP_RE.exec(text)?.index ?? text.length;
      const c = text.charCodeAt(pos);
      if (c === QUOTE) {
        const run = text.slice(runStart, pos);
        this.pos = pos + 1;
        if (parts === undefined) return run;
        parts.push(run);
        return parts.join('');
      }
      if (c !== BACKSLASH) {
        // Control character (rejected by Python's strict mode) or end of input.
        this.pos = pos;
        this.fail();
      }
      parts ??= [];
      parts.push(text.slice(runStart, pos));
      const esc = text[pos + 1];
      if (esc === 'u') {
        const hex = text.slice(pos + 2, pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
          this.pos = pos; // point at the backslash
          this.fail('Invalid \\uXXXX escape');
        }
        // Each escape is one UTF-16 code unit; surrogate pairs combine by concatenation, and
        // lone surrogates are kept, as Python keeps them.
        parts.push(String.fromCharCode(parseInt(hex, 16)));
        runStart = pos + 6;
      } else {
        const decoded = esc === undefined ? undefined : SIMPLE_ESCAPES[esc];
        if (decoded === undefined) {
          if (esc === undefined) {
            this.pos = pos + 1;
            this.fail();
          }
          this.pos = pos; // point at the backslash
          this.fail(`Invalid escape '\\${esc}'`);
        }
        parts.push(decoded);
        runStart = pos + 2;
      }
    }
  }

  /** Parses `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`, Python's number grammar. */
  private parseNumber(): PyNumber {
    const text = this.text;
    const start = this.pos;
    let pos = start;
    let isFloat = false;
    if (text.charCodeAt(pos) === MINUS) pos++;
    if (text.charCodeAt(pos) === ZERO) {
      pos++;
    } else {
      pos = this.digits(pos);
    }
    if (text.charCodeAt(pos) === DOT) {
      isFloat = true;
      pos = this.digits(pos + 1);
    }
    const e = text.charCodeAt(pos);
    if (e === LOWER_E || e === UPPER_E) {
      isFloat = true;
      pos++;
      const sign = text.charCodeAt(pos);
      if (sign === PLUS || sign === MINUS) pos++;
      pos = this.digits(pos);
    }
    this.pos = pos;
    const literal = text.slice(start, pos);
    const value = Number(literal);
    if (isFloat) return Number.isInteger(value) ? new PyFloat(value) : value;
    // Python ints are unbounded: keep large ones exact.
    return Number.isSafeInteger(value) ? value : BigInt(literal);
  }

  /** Consumes one or more digits from `pos`, returning the position after them. */
  private digits(pos: number): number {
    const text = this.text;
    const first = text.charCodeAt(pos);
    if (!(first >= ZERO && first <= NINE)) {
      this.pos = pos;
      this.fail();
    }
    pos++;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c >= ZERO && c <= NINE) pos++;
      else return pos;
    }
  }

  private expect(code: number): void {
    if (this.text.charCodeAt(this.pos) !== code) this.fail();
    this.pos++;
  }

  /** Throws a JsonSyntaxError about the character at the current position. */
  private fail(message?: string): never {
    const text = this.text;
    const pos = this.pos;
    // Line and column are only computed on error, so the happy path does not track them.
    let line = 1;
    let lineStart = 0;
    for (let i = text.indexOf('\n'); i !== -1 && i < pos; i = text.indexOf('\n', i + 1)) {
      line++;
      lineStart = i + 1;
    }
    const column = pos - lineStart + 1;
    if (message === undefined) {
      if (pos >= text.length) {
        message = 'Unexpected end of input';
      } else {
        const ch = String.fromCodePoint(text.codePointAt(pos) ?? 0);
        // Show control characters escaped, so the message stays on one line.
        const shown = /[\x00-\x1f]/.test(ch) ? JSON.stringify(ch).slice(1, -1) : ch;
        message = `Unexpected token '${shown}'`;
      }
    }
    throw new JsonSyntaxError(message, line, column);
  }
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/**
 * Python `repr(float)`: the shortest digits that round-trip (JS and Python both pick the closest
 * such digits), in fixed notation when the decimal exponent is in [-4, 16), else scientific with a
 * signed, at least two-digit exponent. Non-finite values give `nan`, `inf`, `-inf`.
 */
export function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(n);
  if (abs >= 1e-4 && abs < 1e16) {
    // In this range JS String() is fixed notation with the same shortest digits; Python only
    // adds ".0" to integral values.
    const s = String(n);
    return s.includes('.') ? s : s + '.0';
  }
  // Outside it Python uses scientific notation, "d[.ddd]e±XX". toExponential() with no argument
  // gives the shortest round-trip digits in that form; only the exponent needs two digits.
  const [mantissa = '', exp = ''] = abs.toExponential().split('e');
  const sign = n < 0 ? '-' : '';
  return `${sign}${mantissa}e${exp[0] ?? ''}${exp.slice(1).padStart(2, '0')}`;
}

/** A JSON number as Python's json module writes it. */
function jsonNumber(v: PyNumber): string {
  if (typeof v === 'bigint') return v.toString();
  if (!isPyFloat(v)) return String(v);
  const f = numberValue(v);
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return 'Infinity';
  if (f === -Infinity) return '-Infinity';
  return pyFloatRepr(f);
}

/** Characters Python's ensure_ascii encoder escapes: `"`, `\`, and everything outside 0x20-0x7E. */
const JSON_ESCAPE_TEST_RE = /["\\\x00-\x1f\x7f-\uffff]/;
const JSON_ESCAPE_RE = new RegExp(JSON_ESCAPE_TEST_RE.source, 'g');

const JSON_SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

/** A JSON string literal as Python writes it with ensure_ascii=True (lowercase `\uXXXX`). */
function jsonString(s: string): string {
  if (!JSON_ESCAPE_TEST_RE.test(s)) return '"' + s + '"';
  // JS strings are UTF-16, so an astral character is already two code units, each escaped
  // separately: exactly Python's surrogate-pair output.
  const escaped = s.replace(
    JSON_ESCAPE_RE,
    (ch) => JSON_SHORT_ESCAPES[ch] ?? '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0'),
  );
  return '"' + escaped + '"';
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Serialize like Python `json.dump(value, f, indent=2)` (ensure_ascii, allow_nan): no trailing
 * newline. `undefined` object members are skipped and `undefined` array items written as null,
 * as JSON.stringify does. Throws TypeError for values Python could not have written.
 */
export function dumpPyJson(value: unknown): string {
  return writeValue(value, '\n');
}

/**
 * Returns the JSON text of `value`. `newline` is "\n" plus the indentation of the line `value`
 * starts on. Strings are built by concatenation, which V8 turns into cheap ropes.
 */
function writeValue(value: unknown, newline: string): string {
  switch (typeof value) {
    case 'string':
      return jsonString(value);
    case 'number':
    case 'bigint':
      return jsonNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return 'null';
    case 'object': {
      if (value === null) return 'null';
      if (value instanceof PyFloat) return jsonNumber(value);
      const inner = newline + '  ';
      if (Array.isArray(value)) {
        if (value.length === 0) return '[]';
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          out += (i === 0 ? inner : ',' + inner) + writeValue(value[i], inner);
        }
        return out + newline + ']';
      }
      if (isPlainObject(value)) {
        let out = '';
        for (const key of Object.keys(value)) {
          const item = value[key];
          if (item === undefined) continue;
          out += (out === '' ? '{' + inner : ',' + inner) + jsonString(key) + ': ' + writeValue(item, inner);
        }
        return out === '' ? '{}' : out + newline + '}';
      }
      throw new TypeError(`Object of type ${value.constructor?.name ?? 'object'} is not JSON serializable`);
    }
    default:
      throw new TypeError(`Object of type ${typeof value} is not JSON serializable`);
  }
}

// ---------------------------------------------------------------------------------------------
// Python str() / repr() for display
// ---------------------------------------------------------------------------------------------

/**
 * Characters Python's `str.isprintable()` rejects (categories Cc, Cf, Cs, Co, Cn, Zl, Zp and
 * Zs other than the space); `repr` escapes them. Node's Unicode tables may be a newer version
 * than Python's, which only matters for characters assigned in between.
 */
const NON_PRINTABLE_RE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python `repr(str)`. */
function reprString(s: string): string {
  // Python prefers single quotes, and switches to double quotes only to avoid escaping a `'`.
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === ' ' || !NON_PRINTABLE_RE.test(ch)) out += ch;
    else {
      const cp = ch.codePointAt(0) ?? 0;
      const hex = cp.toString(16);
      if (cp < 0x100) out += '\\x' + hex.padStart(2, '0');
      else if (cp < 0x10000) out += '\\u' + hex.padStart(4, '0');
      else out += '\\U' + hex.padStart(8, '0');
    }
  }
  return out + quote;
}

/** Python `repr(value)` for JSON-like values: strings quoted, `None`, `True`, lists, dicts. */
export function pyRepr(value: unknown): string {
  if (typeof value === 'string') return reprString(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (value !== null && typeof value === 'object' && !(value instanceof PyFloat)) {
    const items = Object.entries(value).map(([k, v]) => `${reprString(k)}: ${pyRepr(v)}`);
    return `{${items.join(', ')}}`;
  }
  return pyStr(value);
}

/** Python `str(value)`: strings unquoted, everything else as {@link pyRepr}. */
export function pyStr(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (isPyNumber(value)) {
    return isPyFloat(value) ? pyFloatRepr(numberValue(value)) : String(value);
  }
  if (typeof value === 'object') return pyRepr(value);
  return String(value);
}

// ---------------------------------------------------------------------------------------------
// round()
// ---------------------------------------------------------------------------------------------

/** Beyond these digit counts Python's round() returns x itself / a signed zero (floatobject.c). */
const NDIGITS_MAX = 323;
const NDIGITS_MIN = -308;

/**
 * Python `round(x, digits)` for a float: the exact binary value of `x` rounded half-to-even at
 * `digits` decimal places, converted back to the nearest double. (Decimal-string tricks like
 * toFixed are wrong here: 2.675 is really 2.67499999..., so it rounds to 2.67.)
 */
export function pyRound(x: number, digits: number): number {
  if (!Number.isInteger(digits)) throw new RangeError(`round() digits must be an integer: ${digits}`);
  if (!Number.isFinite(x) || digits > NDIGITS_MAX) return x;
  if (digits < NDIGITS_MIN) return 0 * x;

  // Exact decomposition |x| = mantissa * 2^exp2 from the IEEE-754 bits.
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biasedExp = (hi >>> 20) & 0x7ff;
  const fraction = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  const mantissa = biasedExp === 0 ? fraction : fraction | (1n << 52n);
  const exp2 = biasedExp === 0 ? -1074 : biasedExp - 1075;

  // scaled = |x| * 10^digits as the fraction num/den, then rounded half-even to an integer.
  let num = mantissa;
  let den = 1n;
  if (digits >= 0) num *= 10n ** BigInt(digits);
  else den *= 10n ** BigInt(-digits);
  if (exp2 >= 0) num <<= BigInt(exp2);
  else den <<= BigInt(-exp2);
  let q = num / den;
  const twiceRem = (num % den) * 2n;
  if (twiceRem > den || (twiceRem === den && (q & 1n) === 1n)) q += 1n;

  // Number() parses decimal strings with correct rounding; the sign keeps -0.0 as Python does.
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  return Number(`${sign}${q}e${-digits}`);
}

/**
 * A deep copy with Python-only number forms made plain for JavaScript callers and JSON:
 * PyFloat -> number, bigint -> number (nearest double). Other values are copied as they are.
 */
export function toPlainJson(value: unknown): unknown {
  if (value instanceof PyFloat) return value.value;
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(toPlainJson);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: toPlainJson(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}
