import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommandError, FramebusClient, type SocketLike } from './client';
import { encodeVideoFrame } from './video';

class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  binaryType = 'blob';
  readyState = 0;
  sent: unknown[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: unknown) {
    this.sent.push(typeof data === 'string' ? JSON.parse(data) : data);
  }
  close() {
    this.readyState = 3;
    this.onclose?.({});
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(msg: unknown) {
    this.onmessage?.({ data: typeof msg === 'string' || msg instanceof ArrayBuffer ? msg : JSON.stringify(msg) });
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({});
  }
}

const last = () => FakeSocket.all[FakeSocket.all.length - 1]!;

function makeClient(extra: Partial<ConstructorParameters<typeof FramebusClient>[0]> = {}) {
  return new FramebusClient({
    url: 'ws://test/ws/stream',
    subscribe: { streams: ['state', 'video'], max_fps: 30 },
    createSocket: (u) => new FakeSocket(u),
    heartbeatMs: 0,
    now: () => Date.now(),
    ...extra,
  });
}

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

describe('FramebusClient', () => {
  it('subscribes first thing after opening', () => {
    const c = makeClient();
    c.start();
    expect(c.connection.state).toBe('connecting');
    last().open();
    expect(c.connection.state).toBe('open');
    expect(last().binaryType).toBe('arraybuffer');
    expect(last().sent[0]).toEqual({ type: 'subscribe', streams: ['state', 'video'], max_fps: 30 });
  });

  it('correlates acks and errors with commands by id', async () => {
    const c = makeClient();
    c.start();
    last().open();
    const a = c.command('blob_detection', 'set_params', { threshold: 150 });
    const b = c.command('pipeline', 'record');
    const [, sa, sb] = last().sent as { id: string; target: string; payload: unknown }[];
    expect(sa).toMatchObject({ type: 'command', target: 'blob_detection', payload: { cmd: 'set_params', args: { threshold: 150 } } });
    expect(sa!.id).not.toEqual(sb!.id);
    // Replies out of order.
    last().receive({ type: 'error', id: sb!.id, code: 'busy', message: 'recording' });
    last().receive({ type: 'ack', id: sa!.id, target: 'blob_detection', cmd: 'set_params', result: { threshold: 150 } });
    await expect(a).resolves.toEqual({ threshold: 150 });
    await expect(b).rejects.toMatchObject({ name: 'CommandError', code: 'busy', message: 'recording', target: 'pipeline' });
    expect(c.pendingCount).toBe(0);
  });

  it('still hands replies to message listeners and ignores unknown ids', () => {
    const c = makeClient();
    const seen: string[] = [];
    c.onMessage((m) => seen.push(m.type));
    c.start();
    last().open();
    last().receive({ type: 'ack', id: 'nope', target: 't', cmd: 'c', result: null });
    last().receive('not json');
    expect(seen).toEqual(['ack']);
  });

  it('rejects commands when not connected and times out unanswered ones', async () => {
    const c = makeClient({ commandTimeoutMs: 1000 });
    await expect(c.command('x', 'get_params')).rejects.toMatchObject({ code: 'disconnected' });
    c.start();
    last().open();
    const p = c.command('x', 'get_params');
    vi.advanceTimersByTime(1001);
    await expect(p).rejects.toBeInstanceOf(CommandError);
    await expect(p).rejects.toMatchObject({ code: 'timeout' });
  });

  it('fails pending commands on disconnect and reconnects with growing backoff', async () => {
    const c = makeClient({ initialBackoffMs: 100, maxBackoffMs: 400 });
    const states: string[] = [];
    c.onConnection((i) => states.push(i.state));
    c.start();
    last().open();
    const p = c.command('x', 'get_params');
    last().drop();
    await expect(p).rejects.toMatchObject({ code: 'disconnected' });
    expect(c.connection).toMatchObject({ state: 'reconnecting', attempt: 1 });
    vi.advanceTimersByTime(99);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);
    last().drop(); // failed attempt
    expect(c.connection.attempt).toBe(2);
    vi.advanceTimersByTime(200);
    expect(FakeSocket.all).toHaveLength(3);
    last().drop();
    last(); // attempt 3 → 400
    vi.advanceTimersByTime(400);
    expect(FakeSocket.all).toHaveLength(4);
    last().drop();
    vi.advanceTimersByTime(400); // capped at 400
    expect(FakeSocket.all).toHaveLength(5);
    last().open();
    expect(c.connection).toMatchObject({ state: 'open', attempt: 0 });
    // The subscription is sent again on the new socket.
    expect(last().sent[0]).toMatchObject({ type: 'subscribe' });
    expect(states).toContain('reconnecting');
  });

  it('stop() closes and does not reconnect', () => {
    const c = makeClient();
    c.start();
    last().open();
    c.stop();
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(c.connection.state).toBe('closed');
  });

  it('parses binary video messages', () => {
    const c = makeClient();
    const frames: { frameId: number; width: number; jpeg: Uint8Array }[] = [];
    c.onVideo((f) => frames.push(f));
    c.start();
    last().open();
    last().receive(encodeVideoFrame({ frameId: 2 ** 40 + 7, cameraId: 1, width: 640, height: 480 }, new Uint8Array([0xff, 0xd8, 0xff])));
    last().receive(new ArrayBuffer(8)); // too short: ignored
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ frameId: 2 ** 40 + 7, width: 640 });
    expect([...frames[0]!.jpeg]).toEqual([0xff, 0xd8, 0xff]);
  });

  it('heartbeat pings and drops a silent connection', () => {
    let now = 0;
    const c = makeClient({ heartbeatMs: 1000, now: () => now });
    c.start();
    last().open();
    now = 1000;
    vi.advanceTimersByTime(1000);
    expect(last().sent.at(-1)).toMatchObject({ type: 'ping' });
    now = 2500;
    vi.advanceTimersByTime(1000);
    expect(c.connection.state).toBe('reconnecting');
  });
});
