/**
 * Timestamps as dws 1.6 writes them: naive local time, ISO format, always 6 fractional digits
 * (spec README §4.3: Python's lineage reader rejects a timestamp without them).
 */

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/**
 * `d` as local ISO time with microseconds. Date has only milliseconds; the last three digits
 * come from the high-resolution clock, so timestamps taken within one millisecond still sort
 * in the order they were taken.
 */
export function localIsoTimestamp(d: Date): string {
  const micros = d.getMilliseconds() * 1000 + Number((process.hrtime.bigint() / 1000n) % 1000n);
  return (
    `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(micros, 6)}`
  );
}
