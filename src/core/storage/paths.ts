import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ToolError } from '../result';

export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** The one message for a file over the size limit (local or S3), given before anything is read. */
export function tooBig(p: string, size: number, max: number): ToolError {
  return new ToolError(`${p} is ${fmtBytes(size)}, over the ${fmtBytes(max)} limit. Read part of it (n_rows, offset/length) with a tool that streams, or raise the limit in settings.`);
}

/** The one message for content over the size limit, before anything is written. */
export function contentTooBig(size: number, max: number): ToolError {
  return new ToolError(`The content is ${fmtBytes(size)}, over the ${fmtBytes(max)} limit.`);
}

export interface OpenedFile {
  path: string;
  size: number;
  mtimeMs: number;
  handle: fsp.FileHandle;
}

/** The one place where local paths are checked: everything is resolved to a real path (symlinks followed) and
 *  must lie inside an allowed root by whole path components, not by string prefix. */
export class PathPolicy {
  constructor(readonly roots: readonly string[], readonly maxBytes: number) {}

  /** Roots that exist, as real paths. */
  realRoots(): string[] {
    const out: string[] = [];
    for (const r of this.roots) { try { out.push(fs.realpathSync(r)); } catch { /* missing root: nothing inside it */ } }
    return out;
  }

  private lexical(p: string): string {
    if (p.includes('\0')) throw new ToolError('The path contains a NUL byte. Give a plain file path.');
    if (/^[a-z][a-z0-9+.-]*:/i.test(p) && !/^[a-z]:[\\/]/i.test(p)) {
      throw new ToolError(`"${p.slice(0, 60)}" is a URL; give a plain path inside an allowed root (or s3://bucket/key for S3).`);
    }
    if (!this.roots.length) throw new ToolError('No allowed data roots are configured (setting datatools.allowedPaths or DATATOOLS_ALLOWED_PATHS).');
    return path.resolve(this.roots[0], p);
  }

  private outside(p: string): ToolError {
    return new ToolError(`${p} is outside the allowed roots (${this.roots.join(', ')}). Use a path inside one of them.`);
  }

  private rootOf(real: string): string | undefined {
    return this.realRoots().find(r => isInside(r, real));
  }

  /** Resolves a path that must exist inside a root. */
  async resolveExisting(p: string): Promise<string> {
    const abs = this.lexical(p);
    let real: string;
    try { real = await fsp.realpath(abs); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        if (!this.rootOf(abs) && !this.realRoots().some(r => isInside(r, abs))) throw this.outside(p);
        throw new ToolError(`${p} does not exist. Use list_files to see what is there.`);
      }
      throw new ToolError(`${p} cannot be read: ${(e as Error).message}`);
    }
    if (!this.rootOf(real)) throw this.outside(p === real ? p : `${p} (which resolves to ${real})`);
    return real;
  }

  /** Opens a regular file for reading after every check; the open never follows a swapped-in symlink and never
   *  blocks on a FIFO. */
  async openForRead(p: string): Promise<OpenedFile> {
    const real = await this.resolveExisting(p);
    const st = await fsp.lstat(real);
    if (!st.isFile()) throw new ToolError(`${p} is ${kindOf(st)}, not a file.${st.isDirectory() ? ' Use list_files for folders.' : ''}`);
    if (st.size > this.maxBytes) throw tooBig(p, st.size, this.maxBytes);
    const handle = await fsp.open(real, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    const st2 = await handle.stat();
    if (!st2.isFile() || st2.ino !== st.ino || st2.dev !== st.dev) {
      await handle.close();
      throw new ToolError(`${p} changed while it was being opened; try again.`);
    }
    return { path: real, size: st2.size, mtimeMs: st2.mtimeMs, handle };
  }

  /** Opens a regular file of any size (streaming readers cap what they read themselves). */
  async openStream(p: string): Promise<OpenedFile> {
    const policy = new PathPolicy(this.roots, Number.MAX_SAFE_INTEGER);
    return policy.openForRead(p);
  }

  /** Resolves where a new or replaced file goes: the real path of its parent must be inside a root; missing
   *  parents are created only inside a root; the target itself must not be a symlink or a non-file. */
  async resolveForWrite(p: string): Promise<string> {
    const abs = this.lexical(p);
    if (abs.endsWith(path.sep) || path.basename(abs) === '') throw new ToolError(`${p} names a folder; give a file name.`);
    // find the nearest existing ancestor and check its real path
    let existing = path.dirname(abs);
    const missing: string[] = [];
    for (;;) {
      try { await fsp.lstat(existing); break; } catch { missing.unshift(path.basename(existing)); existing = path.dirname(existing); }
    }
    const realExisting = await fsp.realpath(existing);
    if (!this.rootOf(realExisting)) throw this.outside(p);
    let parent = realExisting;
    for (const m of missing) {
      parent = path.join(parent, m);
      await fsp.mkdir(parent).catch(e => { if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; });
      const rp = await fsp.realpath(parent);
      if (!this.rootOf(rp)) throw this.outside(p);
      parent = rp;
    }
    const target = path.join(parent, path.basename(abs));
    try {
      const st = await fsp.lstat(target);
      if (!st.isFile()) throw new ToolError(`${p} exists and is ${kindOf(st)}; only regular files are replaced.`);
    } catch (e) {
      if (e instanceof ToolError) throw e;
    }
    return target;
  }

  /** Writes atomically: a temporary file in the same folder, flushed, then renamed over the target. A failure
   *  leaves the old file whole. */
  async writeAtomic(p: string, data: Buffer | Uint8Array): Promise<string> {
    if (data.byteLength > this.maxBytes) throw contentTooBig(data.byteLength, this.maxBytes);
    return (await this.writeAtomicStream(p, write => write(data))).path;
  }

  /** Adds bytes to the end of a file inside the roots (created when missing): all of them or none (a failure cuts the
   *  file back to its old length, or removes a file it created). The size limit counts the whole file. */
  async appendAtomic(p: string, data: Buffer | Uint8Array): Promise<{ path: string; size: number }> {
    const target = await this.resolveForWrite(p);
    const existed = await fsp.lstat(target).then(() => true, () => false);
    const fh = await fsp.open(target, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o644);
    let before = 0;
    try {
      before = (await fh.stat()).size;
      if (before + data.byteLength > this.maxBytes) {
        throw new ToolError(`Appending ${fmtBytes(data.byteLength)} would make ${p} ${fmtBytes(before + data.byteLength)}, over the ${fmtBytes(this.maxBytes)} limit; nothing was appended.`);
      }
      let at = 0;
      while (at < data.byteLength) at += (await fh.write(data, at, data.byteLength - at)).bytesWritten;
      await fh.sync();
    } catch (e) {
      await fh.truncate(before).catch(() => undefined);
      await fh.close().catch(() => undefined);
      if (!existed) await fsp.rm(target, { force: true });
      throw e;
    }
    await fh.close();
    return { path: target, size: before + data.byteLength };
  }

  /** writeAtomic for a file produced piece by piece: `produce` hands its bytes to `write` in order; they go to a
   *  temporary file in the target's folder, which is renamed over the target only when `produce` has finished. A
   *  failure, or the file growing past the size limit (refused at the write that passes it), deletes the temporary
   *  file and leaves the old file whole. */
  async writeAtomicStream<T>(p: string, produce: (write: (bytes: Uint8Array) => Promise<void>) => Promise<T>): Promise<{ path: string; bytes: number; value: T }> {
    const target = await this.resolveForWrite(p);
    const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
    const fh = await fsp.open(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o644);
    let bytes = 0;
    let value: T;
    try {
      value = await produce(async b => {
        if (bytes + b.byteLength > this.maxBytes) throw grewTooBig(bytes + b.byteLength, this.maxBytes);
        bytes += b.byteLength;
        let at = 0;
        while (at < b.byteLength) at += (await fh.write(b, at, b.byteLength - at)).bytesWritten;
      });
      await fh.sync();
    } catch (e) {
      await fh.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    await fh.close();
    // the parent may have been swapped for a symlink since it was checked: check again right before the rename
    const realParent = await fsp.realpath(path.dirname(target)).catch(() => '');
    if (realParent !== path.dirname(target) || !this.rootOf(realParent)) {
      await fsp.rm(tmp, { force: true });
      throw new ToolError(`The folder of ${p} changed while writing; nothing was written.`);
    }
    await fsp.rename(tmp, target);
    return { path: target, bytes, value };
  }
}

/** The one message for a file that grew past the size limit while it was written (nothing is left of it). */
export function grewTooBig(size: number, max: number): ToolError {
  return new ToolError(`The file grew past the ${fmtBytes(max)} limit while it was written (${fmtBytes(size)} at that point); nothing was written. Save fewer rows or columns (get_result with where/columns), or raise the file size limit (setting datatools.limits.maxFileSizeMb, or DATATOOLS_MAX_FILE_BYTES).`);
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024; let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
