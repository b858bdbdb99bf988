import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

interface Stored { id: string; stream: string; message?: JSONRPCMessage; bytes: number; log: EventLog; dropped?: boolean }

/** The bytes all sessions' event logs may hold together: past it the oldest events of any session go first. */
export class EventBudget {
  bytes = 0;
  private queue: Stored[] = [];
  private dead = 0;
  constructor(readonly maxBytes = 64 * 1048576) {}

  add(e: Stored): void {
    this.queue.push(e);
    this.bytes += e.bytes;
    while (this.bytes > this.maxBytes && this.queue.length) {
      const old = this.queue.shift()!;
      if (old.dropped) { this.dead--; continue; }
      old.log.drop(old);
    }
  }

  /** An event let go by its own log: its bytes are free; the queue is compacted when mostly dead. */
  released(e: Stored): void {
    this.bytes -= e.bytes;
    if (++this.dead > 1000 && this.dead > this.queue.length / 2) { this.queue = this.queue.filter(x => !x.dropped); this.dead = 0; }
  }
}

/** One session's recent SSE events, so a client whose connection dropped resumes with `Last-Event-ID` and gets what
 *  it missed. Bounded: the newest `maxEvents` events and `maxBytes` of them, and all sessions together by their
 *  shared budget; older ones are let go, oldest first. A resume from an event that was let go (or never was) is
 *  an unknown event id to the SDK (400): the client learns it cannot resume rather than silently missing events. */
export class EventLog implements EventStore {
  private events: Stored[] = [];
  private bytes = 0;
  private seq = 0;

  constructor(private readonly maxEvents = 1000, private readonly maxBytes = 8 * 1048576, private readonly budget = new EventBudget()) {}

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const id = `${streamId}_${++this.seq}`;
    const e: Stored = { id, stream: streamId, message, bytes: Buffer.byteLength(JSON.stringify(message)), log: this };
    this.events.push(e);
    this.bytes += e.bytes;
    while (this.events.length > this.maxEvents || (this.bytes > this.maxBytes && this.events.length > 1)) this.drop(this.events[0]);
    this.budget.add(e);
    return id;
  }

  /** Lets an event go (it is always this log's oldest: every bound drops oldest first). */
  drop(e: Stored): void {
    if (e.dropped) return;
    const i = this.events.indexOf(e);
    if (i >= 0) this.events.splice(i, 1);
    e.dropped = true;
    e.message = undefined;
    this.bytes -= e.bytes;
    this.budget.released(e);
  }

  /** Every event let go (the session ended). */
  clear(): void { for (const e of [...this.events]) this.drop(e); }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.events.find(e => e.id === eventId)?.stream;
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const from = this.events.findIndex(e => e.id === lastEventId);
    if (from < 0) return '';
    const stream = this.events[from].stream;
    for (const e of this.events.slice(from + 1)) if (e.stream === stream && e.message) await send(e.id, e.message);
    return stream;
  }
}
