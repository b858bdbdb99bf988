import { isUtf8 } from 'node:buffer';

/** Encodings a text data file can be read in. "windows-1252" is what "Latin-1" files usually are (it is
 *  ISO-8859-1 plus printable characters in 0x80-0x9F); "latin1" is strict ISO-8859-1. */
export const TEXT_ENCODINGS = ['utf-8', 'utf-16le', 'utf-16be', 'windows-1252', 'latin1'] as const;
export type TextEncoding = typeof TEXT_ENCODINGS[number];

/** windows-1252 0x80-0x9F (WHATWG: the five unassigned bytes map to the C1 control of the same number). */
const CP1252 = [0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
  0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178];

function cp1252(b: Buffer): string {
  const s = b.toString('latin1');
  return /[\x80-\x9f]/.test(s) ? s.replace(/[\x80-\x9f]/g, c => String.fromCharCode(CP1252[c.charCodeAt(0) - 0x80])) : s;
}

/** Start offsets of invalid UTF-8 sequences (maximal subparts, as WHATWG decoders replace them); `valid`
 *  counts the well-formed multi-byte characters. */
export function invalidUtf8(b: Uint8Array, counts?: { valid: number }): number[] {
  const out: number[] = [];
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) { i++; continue; }
    let need = 0; let lo = 0x80; let hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c === 0xE0) { need = 2; lo = 0xA0; }
    else if ((c >= 0xE1 && c <= 0xEC) || c === 0xEE || c === 0xEF) need = 2;
    else if (c === 0xED) { need = 2; hi = 0x9F; }
    else if (c === 0xF0) { need = 3; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) need = 3;
    else if (c === 0xF4) { need = 3; hi = 0x8F; }
    else { out.push(i); i++; continue; }
    let j = 1;
    for (; j <= need; j++) {
      const d = b[i + j];
      if (d === undefined || d < (j === 1 ? lo : 0x80) || d > (j === 1 ? hi : 0xBF)) break;
    }
    if (j <= need) { out.push(i); i += j; continue; }
    if (counts) counts.valid++;
    i += need + 1;
  }
  return out;
}

/** Bytes at the end that start a UTF-8 sequence the buffer does not finish (0-3). */
function incompleteTail(b: Buffer): number {
  for (let k = 1; k <= Math.min(3, b.length); k++) {
    const c = b[b.length - k];
    if (c < 0x80) return 0;
    if (c >= 0xC0) {
      const need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      return need > k ? k : 0;
    }
  }
  return 0;
}

function countLf(b: Buffer, end = b.length): number {
  let n = 0;
  for (let i = b.indexOf(10); i !== -1 && i < end; i = b.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * Turns the bytes of a text file into text chunk by chunk, with the encoding chosen from the first bytes (or
 * given): a BOM (UTF-8, UTF-16LE/BE), else UTF-16 recognised by its NUL bytes, else UTF-8 as long as the bytes
 * are valid UTF-8; the first non-ASCII bytes that are not UTF-8 switch to windows-1252 (everything before them
 * was ASCII, which both read the same). Once UTF-8 is chosen, later invalid bytes become U+FFFD and are
 * counted with their line numbers in `invalid`, so the caller can say so; nothing is replaced silently.
 */
export class StreamDecoder {
  /** The encoding in use; 'ascii' until the first non-ASCII byte decides (reported as UTF-8). */
  private mode: TextEncoding | 'ascii';
  /** How the encoding was chosen, for the result text. */
  private how = '';
  private bom = '';
  private carry: Buffer = Buffer.alloc(0);
  private lines = 0;
  private utf16?: TextDecoder;
  private started = false;
  private consumed = 0;
  /** Invalid UTF-8 sequences seen (in 'utf-8' mode): how many, and on which lines (first 10). */
  readonly invalid = { count: 0, lines: [] as number[], lineCount: 0 };

  constructor(private readonly requested?: TextEncoding, how = 'as requested') {
    this.mode = requested ?? 'ascii';
    if (requested) this.how = how;
  }

  /** The encoding as a short phrase for the result: "UTF-8", "windows-1252 (not valid UTF-8 …)", …. */
  describe(): string {
    const name = this.mode === 'ascii' ? 'UTF-8' : this.mode === 'utf-8' ? 'UTF-8' : this.mode === 'latin1' ? 'ISO-8859-1 (latin1)' : this.mode.toUpperCase().replace('WINDOWS', 'windows');
    const extra = [this.bom && 'with BOM', this.how, this.mode === 'ascii' && !this.requested ? 'only ASCII in the part read' : ''].filter(Boolean).join(', ');
    return extra ? `${name} (${extra})` : name;
  }

  get encoding(): TextEncoding { return this.mode === 'ascii' ? 'utf-8' : this.mode; }

  write(chunk: Buffer): string {
    let data = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = Buffer.alloc(0);
    if (!this.started) {
      this.started = true;
      data = this.start(data);
    }
    return this.decode(data, false);
  }

  end(): string {
    const data = this.carry;
    this.carry = Buffer.alloc(0);
    if (!this.started) { this.started = true; this.start(data); }
    return this.decode(data, true);
  }

  /** Looks at the first bytes (the caller passes a large first chunk): BOM, UTF-16 NUL pattern. */
  private start(data: Buffer): Buffer {
    const boms: [TextEncoding, number[]][] = [['utf-8', [0xEF, 0xBB, 0xBF]], ['utf-16le', [0xFF, 0xFE]], ['utf-16be', [0xFE, 0xFF]]];
    for (const [enc, bytes] of boms) {
      if (data.length >= bytes.length && bytes.every((b, k) => data[k] === b) && (!this.requested || this.requested === enc)) {
        this.mode = enc; this.bom = 'BOM'; if (!this.requested) this.how = '';
        this.consumed = bytes.length;
        return data.subarray(bytes.length);
      }
    }
    if (!this.requested && data.length >= 4) {
      const n = Math.min(data.length, 1024) & ~1;
      let even = 0; let odd = 0;
      for (let i = 0; i < n; i += 2) { if (data[i] === 0) even++; if (data[i + 1] === 0) odd++; }
      if (odd >= n / 2 * 0.3 && even === 0) { this.mode = 'utf-16le'; this.how = 'no BOM; recognised by its NUL bytes'; }
      else if (even >= n / 2 * 0.3 && odd === 0) { this.mode = 'utf-16be'; this.how = 'no BOM; recognised by its NUL bytes'; }
    }
    return data;
  }

  private decode(data: Buffer, final: boolean): string {
    switch (this.mode) {
      case 'ascii': {
        let i = 0;
        while (i < data.length && data[i] < 0x80) i++;
        if (i === data.length) { this.advance(data); return data.toString('latin1'); }
        const tail = final ? 0 : incompleteTail(data);
        const rest = data.subarray(i, data.length - tail);
        const counts = { valid: 0 };
        const bad = invalidUtf8(rest, counts);
        if (bad.length === 0 && rest.length === 0) {
          // only the start of a multi-byte character so far: wait for the next chunk to decide
          this.carry = Buffer.from(data.subarray(i));
          const ascii = data.subarray(0, i);
          this.advance(ascii);
          return ascii.toString('latin1');
        }
        // invalid bytes and no more well-formed UTF-8 characters than that: a single-byte encoding. A file that
        // is mostly UTF-8 with a few broken bytes stays UTF-8 (they are reported, below).
        if (bad.length && counts.valid < bad.length) {
          this.mode = 'windows-1252';
          this.how = `not valid UTF-8: byte 0x${data[i + bad[0]].toString(16).toUpperCase()} on line ${this.lines + countLf(data, i + bad[0]) + 1}`;
        } else this.mode = 'utf-8';
        return this.decode(data, final);
      }
      case 'utf-8': {
        const tail = final ? 0 : incompleteTail(data);
        const body = tail ? data.subarray(0, data.length - tail) : data;
        if (tail) this.carry = Buffer.from(data.subarray(data.length - tail));
        if (!isUtf8(body)) {
          let lastLine = -1;
          for (const p of invalidUtf8(body)) {
            this.invalid.count++;
            const line = this.lines + countLf(body, p) + 1;
            if (line !== lastLine) { this.invalid.lineCount++; if (this.invalid.lines.length < 10) this.invalid.lines.push(line); lastLine = line; }
          }
        }
        this.advance(body);
        return body.toString('utf8');
      }
      case 'windows-1252': this.advance(data); return cp1252(data);
      case 'latin1': this.advance(data); return data.toString('latin1');
      case 'utf-16le':
      case 'utf-16be': {
        let d = data;
        if (!final && d.length % 2) { this.carry = Buffer.from(d.subarray(d.length - 1)); d = d.subarray(0, d.length - 1); }
        if (this.mode === 'utf-16be') { d = Buffer.from(d); if (d.length % 2 === 0) d.swap16(); }
        this.utf16 ??= new TextDecoder('utf-16le', { fatal: true });
        try {
          const s = this.utf16.decode(d, { stream: !final });
          this.consumed += d.length;
          return s;
        } catch {
          throw new Error(`the file is not valid ${this.mode.toUpperCase()} (an odd byte count or an unpaired surrogate after byte ${this.consumed.toLocaleString('en-US')}); pass encoding to read it differently`);
        }
      }
    }
  }

  private advance(b: Buffer): void {
    this.lines += countLf(b);
    this.consumed += b.length;
  }
}
