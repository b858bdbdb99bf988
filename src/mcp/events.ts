import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** One session's recent SSE events, so a client whose connection dropped resumes with `Last-Event-ID` and gets what
 *  it missed. Bounded: the newest `maxEvents` events and `maxBytes` of them (older ones are let go; a resume from
 *  before them replays nothing). */
export class EventLog implements EventStore {
  private events: { id: string; stream: string; message: JSONRPCMessage; bytes: number }[] = [];
  private bytes = 0;
  private seq = 0;

  constructor(private readonly maxEvents = 1000, private readonly maxBytes = 16 * 1048576) {}

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const id = `${streamId}_${++this.seq}`;
    const bytes = JSON.stringify(message).length;
    this.events.push({ id, stream: streamId, message, bytes });
    this.bytes += bytes;
    while (this.events.length > this.maxEvents || (this.bytes > this.maxBytes && this.events.length > 1)) this.bytes -= this.events.shift()!.bytes;
    return id;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.events.find(e => e.id === eventId)?.stream ?? eventId.slice(0, eventId.lastIndexOf('_'));
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const stream = lastEventId.slice(0, lastEventId.lastIndexOf('_'));
    const after = Number(lastEventId.slice(lastEventId.lastIndexOf('_') + 1));
    for (const e of this.events) {
      if (e.stream === stream && Number(e.id.slice(e.id.lastIndexOf('_') + 1)) > after) await send(e.id, e.message);
    }
    return stream;
  }
}
