export interface Disposable {
  dispose(): Promise<void> | void;
}

/** Backends (database pools, sandboxes, S3 clients) are created on first use and shared by every call. */
export class Services {
  private readonly cache = new Map<string, Promise<Disposable>>();

  get<T extends Disposable>(key: string, create: () => Promise<T>): Promise<T> {
    let p = this.cache.get(key) as Promise<T> | undefined;
    if (!p) {
      p = create();
      this.cache.set(key, p);
      // a backend that failed to start is not cached: the next call tries again
      p.catch(() => { if (this.cache.get(key) === p) this.cache.delete(key); });
    }
    return p;
  }

  /** Drops one backend (e.g. after a configuration change); the next call creates it anew. */
  async reset(key: string): Promise<void> {
    const p = this.cache.get(key);
    this.cache.delete(key);
    if (p) await p.then(d => d.dispose(), () => undefined);
  }

  async dispose(): Promise<void> {
    const all = [...this.cache.values()];
    this.cache.clear();
    await Promise.all(all.map(p => p.then(d => d.dispose(), () => undefined)));
  }
}
