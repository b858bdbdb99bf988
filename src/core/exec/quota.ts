import * as fs from 'node:fs';

/** What sandboxed code may write into the data roots (read-write for roles that may write files): file systems have
 *  no quota a bind mount could carry, so two walls, both reported as a limit hit:
 *  1. RLIMIT_FSIZE inside the sandbox: no single file grows past `bytes` (the write fails with EFBIG; Python
 *     ignores SIGXFSZ), in the data roots or anywhere else.
 *  2. A watch from the host while code runs: the used space of every file system that holds a writable data root
 *     may grow by at most `bytes` (and an eighth, for the file system's own blocks) during one call, and the call may not push its free space below a floor
 *     (5% of the file system, at most 1 GiB). Past either, the code is stopped (its kernel restarted), within one
 *     poll (200 ms) of the write. Used space is the file system's own count, so a file deleted again frees its share,
 *     and other programs writing to the same disk at the same time count too. */
export const POLL_MS = 200;
const FLOOR_FRACTION = 0.05;
const FLOOR_MAX = 1024 ** 3;

interface Fs { root: string; used0: number; free0: number; floor: number }

function statOf(root: string): { used: number; free: number; total: number } | undefined {
  try {
    const s = fs.statfsSync(root);
    return { used: (s.blocks - s.bfree) * s.bsize, free: s.bavail * s.bsize, total: s.blocks * s.bsize };
  } catch { return undefined; }
}

export class WriteWatch {
  constructor(private readonly roots: string[], readonly bytes: number) {}

  /** Watches until the returned function is called; `exceeded` is called once with the reason. */
  start(exceeded: (why: string) => void): () => void {
    const seen = new Set<number>();
    const list: Fs[] = [];
    for (const root of this.roots) {
      let dev: number;
      try { dev = fs.statSync(root).dev; } catch { continue; }
      if (seen.has(dev)) continue;
      seen.add(dev);
      const s = statOf(root);
      if (s) list.push({ root, used0: s.used, free0: s.free, floor: Math.min(FLOOR_MAX, s.total * FLOOR_FRACTION) });
    }
    if (!list.length) return () => undefined;
    const mb = (n: number) => `${Math.round(n / 1024 / 1024).toLocaleString('en-US')} MB`;
    const timer = setInterval(() => {
      for (const f of list) {
        const s = statOf(f.root);
        if (!s) continue;
        // an eighth more for the file system's own blocks (a file exactly at the per-file cap is not over)
        if (s.used - f.used0 > this.bytes + this.bytes / 8) {
          clearInterval(timer);
          exceeded(`wrote more than ${mb(this.bytes)} into the data roots in one run (DATATOOLS_SANDBOX_WRITE_MB; the file system of ${f.root} grew by ${mb(s.used - f.used0)})`);
          return;
        }
        if (s.free < f.floor && s.free < f.free0) {
          clearInterval(timer);
          exceeded(`filled the file system of ${f.root} to its last ${mb(f.floor)} (${mb(s.free)} free; the sandbox may not use the host's last 5% or 1 GB)`);
          return;
        }
      }
    }, POLL_MS);
    timer.unref();
    return () => clearInterval(timer);
  }
}
