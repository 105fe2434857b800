// Expected values in this file were produced by Python 3.11 (`json.dumps`, `repr`, `round`, `str`)
// and are hard-coded; nothing is computed with our code and then asserted against itself.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  JsonSyntaxError,
  PyFloat,
  dumpPyJson,
  isPyFloat,
  isPyNumber,
  numberValue,
  parsePyJson,
  pyFloatRepr,
  pyRepr,
  pyRound,
  pyStr,
} from '../../server/workspace/pyjson.js';

const FIXTURE_DIR = fileURLToPath(
  new URL('../fixtures/python-dws-1.6/expected/dataworkspace/', import.meta.url),
);

function jsonFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.json'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function syntaxError(text: string): JsonSyntaxError {
  try {
    parsePyJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) return e;
    throw e;
  }
  throw new Error(`parsed without error: ${text}`);
}

describe('round-trip of files written by Python dws', () => {
  const files = jsonFilesUnder(FIXTURE_DIR);

  it('finds the fixture files', () => {
    expect(files.length).toBe(20);
  });

  it.each(files.map((f) => [f.slice(FIXTURE_DIR.length), f]))('%s', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    expect(dumpPyJson(parsePyJson(text))).toBe(text);
  });

  it('keeps integral float metrics as PyFloat', () => {
    const md = parsePyJson(
      readFileSync(join(FIXTURE_DIR, 'snapshot_metadata/7fca31ff6a22fee9721f9c2941e2e8cc4650f903_md.json'), 'utf8'),
    );
    expect(md).toMatchObject({ metrics: { sum: 12, mean: new PyFloat(4), alpha: 0.5 } });
  });
});

describe('parsePyJson', () => {
  it('parses scalars', () => {
    expect(parsePyJson('true')).toBe(true);
    expect(parsePyJson('false')).toBe(false);
    expect(parsePyJson('null')).toBe(null);
    expect(parsePyJson(' \t\r\n"x"\n')).toBe('x');
    expect(parsePyJson('0')).toBe(0);
    expect(parsePyJson('-12')).toBe(-12);
    expect(parsePyJson('0.5')).toBe(0.5);
    expect(parsePyJson('-2.5e-3')).toBe(-0.0025);
  });

  it('keeps integral floats as PyFloat, non-integral floats as numbers', () => {
    expect(parsePyJson('[4.0, 1E5, 1e-5, 2.50, 0.0, -0.0, 1.0e0, 1E+2, 1e400]')).toEqual([
      new PyFloat(4),
      new PyFloat(100000),
      1e-5,
      2.5,
      new PyFloat(0),
      new PyFloat(-0),
      new PyFloat(1),
      new PyFloat(100),
      Infinity, // Python: float('1e400') is inf
    ]);
    const negZero = parsePyJson('-0.0');
    expect(negZero).toBeInstanceOf(PyFloat);
    expect(Object.is((negZero as PyFloat).value, -0)).toBe(true);
  });

  it('keeps integers beyond the safe range exact as bigint', () => {
    expect(parsePyJson('9007199254740991')).toBe(9007199254740991);
    expect(parsePyJson('9007199254740993')).toBe(9007199254740993n);
    expect(parsePyJson('-12345678901234567890')).toBe(-12345678901234567890n);
  });

  it('reads the non-finite floats Python writes', () => {
    expect(parsePyJson('[NaN, Infinity, -Infinity]')).toEqual([NaN, Infinity, -Infinity]);
  });

  it('decodes every escape, including surrogate pairs and lone surrogates', () => {
    expect(parsePyJson(String.raw`"\"\\\/\b\f\n\r\t"`)).toBe('"\\/\b\f\n\r\t');
    expect(parsePyJson(String.raw`"caf\u00e9 \ud83d\ude00 \uD83D\uDE00"`)).toBe('café 😀 😀');
    expect(parsePyJson(String.raw`"\ud800x"`)).toBe('\ud800x');
    expect(parsePyJson('"raw é 😀"')).toBe('raw é 😀');
  });

  it('parses nested containers and keeps key order', () => {
    const v = parsePyJson('{"z": 1, "a": [], "m": {}, "b": [[], {}, [1, [2]]]}');
    expect(v).toEqual({ z: 1, a: [], m: {}, b: [[], {}, [1, [2]]] });
    expect(Object.keys(v as object)).toEqual(['z', 'a', 'm', 'b']);
  });

  it('makes "__proto__" an own property, not the prototype', () => {
    const v = parsePyJson('{"__proto__": {"polluted": true}, "b": 1}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__', 'b']);
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(dumpPyJson(v)).toBe('{\n  "__proto__": {\n    "polluted": true\n  },\n  "b": 1\n}');
  });

  it('keeps the last value of a duplicate key at its first position, like a Python dict', () => {
    const v = parsePyJson('{"a": 1, "b": 2, "a": 3}');
    expect(Object.entries(v as object)).toEqual([
      ['a', 3],
      ['b', 2],
    ]);
  });

  it('reports syntax errors with 1-based line and column', () => {
    const e = syntaxError('{\n  "a": 1,\n  }');
    expect(e.message).toBe("Unexpected token '}' at line 3 column 3");
    expect([e.line, e.column]).toEqual([3, 3]);

    expect(syntaxError('[1,\n2,\n').message).toBe('Unexpected end of input at line 3 column 1');
    expect(syntaxError('').message).toBe('Unexpected end of input at line 1 column 1');
    expect(syntaxError('   ').message).toBe('Unexpected end of input at line 1 column 4');
    expect(syntaxError('{"a" 1}').message).toBe("Unexpected token '1' at line 1 column 6");
    expect(syntaxError('[1, 2,]').message).toBe("Unexpected token ']' at line 1 column 7");
    expect(syntaxError('{"a": 1} x').message).toBe("Unexpected token 'x' at line 1 column 10");
    expect(syntaxError('{a: 1}').message).toBe("Unexpected token 'a' at line 1 column 2");
    expect(syntaxError('[01]').message).toBe("Unexpected token '1' at line 1 column 3");
    expect(syntaxError('[1.]').message).toBe("Unexpected token ']' at line 1 column 4");
    expect(syntaxError('-').message).toBe('Unexpected end of input at line 1 column 2');
    expect(syntaxError('[1e+]').message).toBe("Unexpected token ']' at line 1 column 5");
    expect(syntaxError('tru').message).toBe("Unexpected token 't' at line 1 column 1");
    expect(syntaxError('"abc').message).toBe('Unexpected end of input at line 1 column 5');
    expect(syntaxError('[nan]').message).toBe("Unexpected token 'n' at line 1 column 2");
    expect(syntaxError('{"😀": 1,}').message).toBe("Unexpected token '}' at line 1 column 10");
    expect(syntaxError('\n\n  [😀]').message).toBe("Unexpected token '😀' at line 3 column 4");
  });

  it('rejects raw control characters in strings (Python strict mode), showing them escaped', () => {
    const e = syntaxError('["a\nb"]');
    expect(e.message).toBe("Unexpected token '\\n' at line 1 column 4");
    expect(syntaxError('"\t"').message).toBe("Unexpected token '\\t' at line 1 column 2");
  });

  it('reports bad escapes', () => {
    expect(syntaxError('"a\\x"').message).toBe("Invalid escape '\\x' at line 1 column 3");
    expect(syntaxError('"a\\u12g4"').message).toBe('Invalid \\uXXXX escape at line 1 column 3');
    expect(syntaxError('"a\\').message).toBe('Unexpected end of input at line 1 column 4');
  });

  it('is an Error subclass', () => {
    const e = syntaxError('}');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('JsonSyntaxError');
  });

  it('handles multi-megabyte input', () => {
    const items = Array.from({ length: 50_000 }, (_, i) => ({
      name: `file-${i}.csv`,
      size: i * 17,
      ratio: i + 0.25,
      note: 'caf\u00e9 "q" \\',
    }));
    const text = dumpPyJson({ items, blob: 'x'.repeat(5_000_000) });
    expect(text.length).toBeGreaterThan(9_000_000);
    // Quadratic behaviour on 9 MB would not end within the test's timeout.
    const parsed = parsePyJson(text) as { items: unknown[]; blob: string };
    expect(parsed.items[49_999]).toEqual({ name: 'file-49999.csv', size: 849_983, ratio: 49_999.25, note: 'café "q" \\' });
    expect(parsed.blob.length).toBe(5_000_000);
    expect(dumpPyJson(parsed)).toBe(text);
  });
});

describe('dumpPyJson', () => {
  it('indents like json.dump(indent=2), without a trailing newline', () => {
    expect(dumpPyJson({ a: [], b: {}, c: [[]], d: [{}], e: { f: {} } })).toBe(
      '{\n  "a": [],\n  "b": {},\n  "c": [\n    []\n  ],\n  "d": [\n    {}\n  ],\n  "e": {\n    "f": {}\n  }\n}',
    );
    expect(dumpPyJson([])).toBe('[]');
    expect(dumpPyJson({})).toBe('{}');
    expect(dumpPyJson([1, 'a', null, true, false])).toBe('[\n  1,\n  "a",\n  null,\n  true,\n  false\n]');
  });

  it('escapes strings exactly like ensure_ascii', () => {
    // python3: json.dumps(["é","😀","\x00\x01\x1f\x7f\x80","a/b","\"\\\n\r\t\b\f","\u2028","\ud800"], indent=2)
    expect(dumpPyJson(['é', '😀', '\x00\x01\x1f\x7f\x80', 'a/b', '"\\\n\r\t\b\f', '\u2028', '\ud800'])).toBe(
      [
        '[',
        '  "\\u00e9",',
        '  "\\ud83d\\ude00",',
        '  "\\u0000\\u0001\\u001f\\u007f\\u0080",',
        '  "a/b",',
        '  "\\"\\\\\\n\\r\\t\\b\\f",',
        '  "\\u2028",',
        '  "\\ud800"',
        ']',
      ].join('\n'),
    );
    // python3: json.dumps("\x00\x08\x0b\x1b\x7f\x80\xff\u0100\uffff")
    expect(dumpPyJson('\x00\x08\x0b\x1b\x7f\x80\xff\u0100\uffff')).toBe(
      '"\\u0000\\b\\u000b\\u001b\\u007f\\u0080\\u00ff\\u0100\\uffff"',
    );
    expect(dumpPyJson(' ~plain ASCII!')).toBe('" ~plain ASCII!"');
  });

  it('escapes object keys too', () => {
    expect(dumpPyJson({ 'clé "x"': 1 })).toBe('{\n  "cl\\u00e9 \\"x\\"": 1\n}');
  });

  it('writes floats as Python repr and ints as decimal', () => {
    const values = [
      0, -0, 12, -7, 9007199254740993n, 12345678901234567890n,
      new PyFloat(4), new PyFloat(-0), new PyFloat(0), new PyFloat(1e16), new PyFloat(1e15),
      0.1, 1e-5, 0.0001, 1e16, 123456789012345680, 1.5e300, 5e-324, 0.30000000000000004, -1.5,
      1e-7, 1.7976931348623157e308,
    ];
    expect(dumpPyJson(values).split('\n').slice(1, -1).map((l) => l.trim().replace(/,$/, ''))).toEqual([
      '0', '0', '12', '-7', '9007199254740993', '12345678901234567890',
      '4.0', '-0.0', '0.0', '1e+16', '1000000000000000.0',
      '0.1', '1e-05', '0.0001', '1e+16', '1.2345678901234568e+17', '1.5e+300', '5e-324',
      '0.30000000000000004', '-1.5', '1e-07', '1.7976931348623157e+308',
    ]);
  });

  it('writes non-finite floats bare, as Python does', () => {
    expect(dumpPyJson([NaN, Infinity, -Infinity, new PyFloat(Infinity)])).toBe(
      '[\n  NaN,\n  Infinity,\n  -Infinity,\n  Infinity\n]',
    );
  });

  it('skips undefined members and writes undefined items as null', () => {
    expect(dumpPyJson({ a: undefined, b: 1, c: undefined })).toBe('{\n  "b": 1\n}');
    expect(dumpPyJson({ a: undefined })).toBe('{}');
    expect(dumpPyJson([undefined, 1])).toBe('[\n  null,\n  1\n]');
  });

  it('accepts null-prototype objects', () => {
    const o = Object.create(null) as Record<string, unknown>;
    o.k = 'v';
    expect(dumpPyJson(o)).toBe('{\n  "k": "v"\n}');
  });

  it('rejects values Python could not have written', () => {
    expect(() => dumpPyJson(new Date(0))).toThrow('Object of type Date is not JSON serializable');
    expect(() => dumpPyJson({ m: new Map() })).toThrow('Object of type Map is not JSON serializable');
    expect(() => dumpPyJson([() => 1])).toThrow('Object of type function is not JSON serializable');
    expect(() => dumpPyJson(Symbol('s'))).toThrow(TypeError);
  });
});

describe('pyFloatRepr', () => {
  it.each([
    [0, '0.0'],
    [-0, '-0.0'],
    [1, '1.0'],
    [4, '4.0'],
    [100, '100.0'],
    [0.1, '0.1'],
    [-1.5, '-1.5'],
    [123.456, '123.456'],
    [0.0001, '0.0001'],
    [0.00012345, '0.00012345'],
    [0.00009999, '9.999e-05'],
    [1e-5, '1e-05'],
    [1.2345e-5, '1.2345e-05'],
    [1e-7, '1e-07'],
    [1e15, '1000000000000000.0'],
    [1234567890123456, '1234567890123456.0'],
    [9999999999999998, '9999999999999998.0'],
    [2 ** 53, '9007199254740992.0'],
    [1e16, '1e+16'],
    [-1e16, '-1e+16'],
    [123456789012345680, '1.2345678901234568e+17'],
    [1e21, '1e+21'],
    [1e22, '1e+22'],
    [1.5e300, '1.5e+300'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [2.2250738585072014e-308, '2.2250738585072014e-308'],
    [5e-324, '5e-324'],
    [-5e-324, '-5e-324'],
    [0.30000000000000004, '0.30000000000000004'],
    [NaN, 'nan'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
  ])('repr(%s) == %s', (n, expected) => {
    expect(pyFloatRepr(n)).toBe(expected);
  });
});

describe('pyRound', () => {
  // [x, ndigits, repr(round(x, ndigits))] from python3
  it.each([
    [2.675, 2, '2.67'],
    [0.125, 2, '0.12'],
    [0.375, 2, '0.38'],
    [7.45, 1, '7.5'],
    [-7.45, 1, '-7.5'],
    [2.5, 0, '2.0'],
    [3.5, 0, '4.0'],
    [-2.5, 0, '-2.0'],
    [0.5, 0, '0.0'],
    [1.5, 0, '2.0'],
    [-0.0001, 2, '-0.0'],
    [0.0005, 3, '0.001'],
    [0.0015, 3, '0.002'],
    [0.0025, 3, '0.003'],
    [1234.5, -2, '1200.0'],
    [1250, -2, '1200.0'],
    [1350, -2, '1400.0'],
    [5, -1, '0.0'],
    [15, -1, '20.0'],
    [25, -1, '20.0'],
    [0.020449, 3, '0.02'],
    [0.021242, 3, '0.021'],
    [7.5, 1, '7.5'],
    [4, 1, '4.0'],
    [0.95, 3, '0.95'],
    [0.9995, 3, '1.0'],
    [0.99951, 3, '1.0'],
    [-0.9995, 3, '-1.0'],
    [1.05, 1, '1.1'],
    [1.15, 1, '1.1'],
    [1.25, 1, '1.2'],
    [1.35, 1, '1.4'],
    [0.45, 1, '0.5'],
    [1.45, 1, '1.4'],
    [0.30000000000000004, 3, '0.3'],
    [123456.789, 1, '123456.8'],
    [2.5e-8, 3, '0.0'],
    [1e300, 1, '1e+300'],
    [5e-324, 3, '0.0'],
    [10000000000000002, 1, '1.0000000000000002e+16'],
    [1.0000000000000002, 15, '1.0'],
    [0.1, 17, '0.1'],
    [0.1, 20, '0.1'],
    [1e-320, 322, '1e-320'],
    [1e-320, 323, '1e-320'],
    [1e22, -22, '1e+22'],
    [5e22, -23, '0.0'],
    [1.5, 400, '1.5'],
    [1.5, -400, '0.0'],
    [-1.5, -400, '-0.0'],
  ])('round(%s, %s) == %s', (x, digits, expected) => {
    expect(pyFloatRepr(pyRound(x, digits))).toBe(expected);
  });

  it('returns non-finite values unchanged', () => {
    expect(pyRound(NaN, 2)).toBeNaN();
    expect(pyRound(Infinity, 1)).toBe(Infinity);
    expect(pyRound(-Infinity, 1)).toBe(-Infinity);
  });

  it('requires integral digits', () => {
    expect(() => pyRound(1.5, 0.5)).toThrow(RangeError);
  });
});

describe('pyStr and pyRepr', () => {
  it('renders scalars like Python str()', () => {
    expect(pyStr('plain')).toBe('plain');
    expect(pyStr(null)).toBe('None');
    expect(pyStr(undefined)).toBe('None');
    expect(pyStr(true)).toBe('True');
    expect(pyStr(false)).toBe('False');
    expect(pyStr(42)).toBe('42');
    expect(pyStr(-0)).toBe('0');
    expect(pyStr(12345678901234567890n)).toBe('12345678901234567890');
    expect(pyStr(new PyFloat(4))).toBe('4.0');
    expect(pyStr(7.5)).toBe('7.5');
    expect(pyStr(1e-5)).toBe('1e-05');
    expect(pyStr(1e16)).toBe('1e+16');
    expect(pyStr(NaN)).toBe('nan');
  });

  it('renders containers like Python str()', () => {
    // python3: str([1, 2.5, 4.0, None, True, "a", ["x"], {"k": "v", "n": None}])
    expect(pyStr([1, 2.5, new PyFloat(4), null, true, 'a', ['x'], { k: 'v', n: null }])).toBe(
      "[1, 2.5, 4.0, None, True, 'a', ['x'], {'k': 'v', 'n': None}]",
    );
    expect(pyStr([])).toBe('[]');
    expect(pyStr({})).toBe('{}');
    expect(pyStr(['README.txt', 'README.rst', 'README.md'])).toBe("['README.txt', 'README.rst', 'README.md']");
    // python3: str({"a": float("nan"), "b": float("inf"), "c": -float("inf"), "d": 12345678901234567890})
    expect(pyStr({ a: NaN, b: Infinity, c: -Infinity, d: 12345678901234567890n })).toBe(
      "{'a': nan, 'b': inf, 'c': -inf, 'd': 12345678901234567890}",
    );
    expect(pyStr({ "it's": ['a"b'] })).toBe(`{"it's": ['a"b']}`);
  });

  it.each([
    ['abc', "'abc'"],
    ["it's", `"it's"`],
    ['say "hi"', `'say "hi"'`],
    [`both ' and "`, `'both \\' and "'`],
    ['back\\slash', "'back\\\\slash'"],
    ['tab\tnl\ncr\r', "'tab\\tnl\\ncr\\r'"],
    ['\x00\x1f\x7f\x80\x9f\xa0\xad', "'\\x00\\x1f\\x7f\\x80\\x9f\\xa0\\xad'"],
    ['é😀', "'é😀'"],
    ['\u2028\u200b\ufeff', "'\\u2028\\u200b\\ufeff'"],
    ['\ud800', "'\\ud800'"],
    ['\u{e0001}', "'\\U000e0001'"],
    ['\u{10ffff}', "'\\U0010ffff'"],
    ['\u0378', "'\\u0378'"],
    ['\u{1f9ff}', "'🧿'"],
    ['\u3000x', "'\\u3000x'"],
    ['', "''"],
  ])('repr(%j) == %s', (s, expected) => {
    expect(pyRepr(s)).toBe(expected);
  });

  it('pyRepr of non-strings equals pyStr', () => {
    expect(pyRepr(['a'])).toBe("['a']");
    expect(pyRepr(true)).toBe('True');
    expect(pyRepr(new PyFloat(1))).toBe('1.0');
  });
});

describe('number helpers', () => {
  it('classify Python ints and floats', () => {
    expect([1, 0.5, 1e16, NaN, new PyFloat(2), 5n, true, '1', null].map(isPyNumber)).toEqual([
      true, true, true, true, true, true, false, false, false,
    ]);
    expect([1, -0, 9999999999999998, 0.5, 1e16, NaN, Infinity, new PyFloat(2), 5n].map(isPyFloat)).toEqual([
      false, false, false, true, true, true, true, true, false,
    ]);
  });

  it('numberValue unwraps', () => {
    expect(numberValue(new PyFloat(3))).toBe(3);
    expect(numberValue(3)).toBe(3);
    expect(numberValue(12n)).toBe(12);
  });
});
