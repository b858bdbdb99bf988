/** What one code execution may bring back, the same for every backend (issue 15, bounded memory). The local sandbox's
 *  kernel (python/kernel.py) applies these limits inside the sandbox, before anything is sent (it gets them through
 *  DATATOOLS_OUTPUT_CAP); the Jupyter and E2B backends receive whole messages from their servers and apply them here,
 *  as the messages arrive, so that what a call keeps and passes on is bounded whatever the code prints or displays. */
import type { RichResult } from './types';

/** stdout and stderr of one call together, UTF-8 bytes; the rest is counted (droppedBytes) and said. */
export const OUTPUT_CAP_BYTES = 1024 * 1024;
/** One text, HTML, SVG or JSON display, characters (cut with a marker giving its length), as kernel.py's TEXT_CAP. */
export const DISPLAY_TEXT_CAP = OUTPUT_CAP_BYTES;
/** One image, base64 characters (left out over it, and said), as kernel.py's IMAGE_CAP. */
export const IMAGE_CAP = 16 * 1024 * 1024;
/** All displays of one call together, bytes; displays past it are left out, and said. */
export const DISPLAYS_CAP_BYTES = 32 * 1024 * 1024;

const fmt = (n: number) => n.toLocaleString('en-US');
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toLocaleString('en-US', { maximumFractionDigits: 1 })} MB`;

/** What the model is told when a call's stdout and stderr went past the cap: the same words for every backend. */
export function outputCutNote(droppedBytes: number): string {
  return `[output cut at ${mb(OUTPUT_CAP_BYTES)} (stdout and stderr together): ${mb(droppedBytes)} more not shown (${fmt(droppedBytes)} bytes); print less, or write big output to a file]`;
}

/** The same marker as kernel.py's cut(). */
function cutText(text: string, cap: number): string {
  return text.length <= cap ? text : `${text.slice(0, cap)}\n… [cut: ${fmt(text.length)} characters in all]`;
}

/** The first `maxBytes` UTF-8 bytes of `s` (never splitting a character), and how many bytes were left. */
function takeBytes(s: string, maxBytes: number): { kept: string; dropped: number } {
  const bytes = Buffer.byteLength(s);
  if (bytes <= maxBytes) return { kept: s, dropped: 0 };
  if (maxBytes <= 0) return { kept: '', dropped: bytes };
  // characters are 1 to 4 bytes: start from maxBytes characters' worth and shrink to fit
  let kept = s.slice(0, maxBytes);
  let n = Buffer.byteLength(kept);
  while (n > maxBytes) {
    kept = kept.slice(0, Math.max(0, kept.length - Math.ceil((n - maxBytes) / 3)));
    if (/[\uD800-\uDBFF]$/.test(kept)) kept = kept.slice(0, -1);
    n = Buffer.byteLength(kept);
  }
  return { kept, dropped: bytes - n };
}

/** The output one call keeps: streams up to OUTPUT_CAP_BYTES together, each display bounded, displays up to
 *  DISPLAYS_CAP_BYTES together. Everything past a limit is counted, and `results()` ends with a note saying so. */
export class OutputBudget {
  stdout = '';
  stderr = '';
  /** Stream bytes dropped past the cap (Execution.droppedBytes). */
  dropped = 0;
  private streamBytes = 0;
  private displayBytes = 0;
  private kept: RichResult[] = [];
  private left = { count: 0, bytes: 0 };

  /** Keeps what fits of a stream chunk and returns it (to pass on to the caller's live view), '' past the cap. */
  stream(name: 'stdout' | 'stderr', text: string): string {
    // once something was cut, everything after it is too (a short line fitting the last bytes would hide the gap)
    const { kept, dropped } = takeBytes(text, this.dropped ? 0 : OUTPUT_CAP_BYTES - this.streamBytes);
    this.dropped += dropped;
    if (kept) { this.streamBytes += Buffer.byteLength(kept); this[name] += kept; }
    return kept;
  }

  /** Keeps a display, bounded (long texts cut with their length, big images left out), while the displays fit. */
  result(r: RichResult): void {
    const b: RichResult = { ...r };
    const notes: string[] = [];
    for (const k of ['text', 'html', 'svg'] as const) if (typeof b[k] === 'string') b[k] = cutText(b[k]!, DISPLAY_TEXT_CAP);
    for (const k of ['png', 'jpeg'] as const) {
      const v = b[k];
      if (typeof v === 'string' && v.length > IMAGE_CAP) { delete b[k]; notes.push(`an image of ${fmt(v.length)} base64 characters was left out: over the ${fmt(IMAGE_CAP)} limit; save it to a file`); }
    }
    if (b.json !== undefined) {
      let size: number;
      try { size = JSON.stringify(b.json)?.length ?? 0; } catch { size = Infinity; }
      if (size > DISPLAY_TEXT_CAP) { delete b.json; notes.push(`a JSON display of ${size === Infinity ? 'unknown size' : `${fmt(size)} characters`} was left out`); }
    }
    if (notes.length && b.text === undefined) b.text = `[${notes.join('; ')}]`;
    const bytes = (b.text?.length ?? 0) + (b.html?.length ?? 0) + (b.svg?.length ?? 0) + (b.png?.length ?? 0) + (b.jpeg?.length ?? 0)
      + (b.json !== undefined ? Math.min(DISPLAY_TEXT_CAP, JSON.stringify(b.json)?.length ?? 0) : 0)
      + (b.table ? Math.min(DISPLAY_TEXT_CAP, JSON.stringify(b.table, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).length) : 0);
    if (this.displayBytes + bytes > DISPLAYS_CAP_BYTES) { this.left.count++; this.left.bytes += bytes; return; }
    this.displayBytes += bytes;
    this.kept.push(b);
  }

  /** The displays kept, and a last one saying what was left out. */
  results(): RichResult[] {
    if (!this.left.count) return this.kept;
    return [...this.kept, { isMainResult: false,
      text: `[output cut: ${fmt(this.left.count)} more display${this.left.count === 1 ? '' : 's'} (${mb(this.left.bytes)}) not shown: the displays of one call are capped at ${mb(DISPLAYS_CAP_BYTES)}; display less, or save to a file]` }];
  }
}
