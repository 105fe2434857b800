/**
 * The set of object ids a store holds, as an open-addressing hash table of 20-byte SHA-1s in a
 * SharedArrayBuffer, so that hashing threads can ask "is this content stored already?" without a
 * copy of the set each (they skip writing content the store has). SHA-1s are uniform, so the
 * first four bytes of an id are its slot; a slot of twenty zero bytes is empty.
 *
 * Built once per hashing run from the store's indexes; read-only afterwards (objects stored
 * during the run are tracked by the store itself).
 */
export const ID_BYTES = 20;

export class KnownIds {
  private readonly table: Uint8Array;
  private readonly mask: number;
  private readonly probe = Buffer.alloc(ID_BYTES);

  constructor(readonly buffer: SharedArrayBuffer) {
    this.table = new Uint8Array(buffer);
    this.mask = this.table.length / ID_BYTES - 1;
  }

  /** A table for `count` ids (at most half full). */
  static create(count: number): KnownIds {
    let slots = 16;
    while (slots < count * 2) slots *= 2;
    return new KnownIds(new SharedArrayBuffer(slots * ID_BYTES));
  }

  /** Add the id at `bytes[offset..offset+20)`. */
  addBinary(bytes: Uint8Array, offset: number): void {
    const t = this.table;
    let slot = this.slotOf(bytes, offset);
    for (;;) {
      const at = slot * ID_BYTES;
      if (isEmpty(t, at)) {
        t.set(bytes.subarray(offset, offset + ID_BYTES), at);
        return;
      }
      if (equalAt(t, at, bytes, offset)) return;
      slot = (slot + 1) & this.mask;
    }
  }

  hasBinary(bytes: Uint8Array, offset: number): boolean {
    const t = this.table;
    let slot = this.slotOf(bytes, offset);
    for (;;) {
      const at = slot * ID_BYTES;
      if (isEmpty(t, at)) return false;
      if (equalAt(t, at, bytes, offset)) return true;
      slot = (slot + 1) & this.mask;
    }
  }

  /** `hex`: 40 lowercase hex digits. */
  has(hex: string): boolean {
    this.probe.write(hex, 'hex');
    return this.hasBinary(this.probe, 0);
  }

  private slotOf(bytes: Uint8Array, offset: number): number {
    return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) & this.mask;
  }
}

function isEmpty(t: Uint8Array, at: number): boolean {
  for (let i = 0; i < ID_BYTES; i++) if (t[at + i] !== 0) return false;
  return true;
}

function equalAt(t: Uint8Array, at: number, b: Uint8Array, off: number): boolean {
  for (let i = 0; i < ID_BYTES; i++) if (t[at + i] !== b[off + i]) return false;
  return true;
}
