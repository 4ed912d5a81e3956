/**
 * The `/ws/stream` client: subscribe on every (re)connect, reconnect with backoff, correlate
 * commands with their `ack`/`error` by id, heartbeat with `ping`, split text and video messages.
 */
import type { ClientMessage } from '../protocol/ClientMessage';
import type { ErrorCode } from '../protocol/ErrorCode';
import type { ServerMessage } from '../protocol/ServerMessage';
import type { Subscribe } from '../protocol/Subscribe';
import { parseVideoFrame, type VideoFrame } from './video';

/** The subset of the DOM WebSocket the client uses (a fake one in tests). */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ConnectionInfo {
  state: ConnectionState;
  /** Failed attempts since the last successful open. */
  attempt: number;
  /** When the next attempt starts (ms, `now()` clock), while reconnecting. */
  retryAt: number | null;
}

/** Why a command failed: a server error code, or a local one. */
export type CommandErrorCode = ErrorCode | 'timeout' | 'disconnected';

export class CommandError extends Error {
  readonly code: CommandErrorCode;
  readonly id: string;
  readonly target: string;
  readonly cmd: string;
  constructor(code: CommandErrorCode, message: string, id: string, target: string, cmd: string) {
    super(message);
    this.name = 'CommandError';
    this.code = code;
    this.id = id;
    this.target = target;
    this.cmd = cmd;
  }
}

export interface ClientOptions {
  url: string;
  subscribe: Subscribe;
  createSocket?: (url: string) => SocketLike;
  /** A command with no reply after this long is rejected with `timeout`. */
  commandTimeoutMs?: number;
  /** First reconnect delay; doubles per failed attempt up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Ping period; the connection is dropped when nothing arrived for two periods. 0 = off. */
  heartbeatMs?: number;
  now?: () => number;
}

type Listener<T> = (value: T) => void;

interface Pending {
  resolve: (result: unknown) => void;
  reject: (err: CommandError) => void;
  timer: ReturnType<typeof setTimeout>;
  target: string;
  cmd: string;
}

const OPEN = 1;

export class FramebusClient {
  private readonly opts: Required<Omit<ClientOptions, 'createSocket'>> & {
    createSocket: (url: string) => SocketLike;
  };
  private socket: SocketLike | null = null;
  private info: ConnectionInfo = { state: 'closed', attempt: 0, retryAt: null };
  private readonly pending = new Map<string, Pending>();
  private readonly prefix = Math.random().toString(36).slice(2, 8);
  private seq = 0;
  private stopped = true;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private lastReceived = 0;
  private readonly messageListeners = new Set<Listener<ServerMessage>>();
  private readonly videoListeners = new Set<Listener<VideoFrame>>();
  private readonly connectionListeners = new Set<Listener<ConnectionInfo>>();

  constructor(options: ClientOptions) {
    this.opts = {
      commandTimeoutMs: 5000,
      initialBackoffMs: 500,
      maxBackoffMs: 8000,
      heartbeatMs: 10000,
      now: () => Date.now(),
      createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
      ...options,
    };
  }

  get connection(): ConnectionInfo {
    return this.info;
  }

  onMessage(fn: Listener<ServerMessage>): () => void {
    this.messageListeners.add(fn);
    return () => this.messageListeners.delete(fn);
  }

  onVideo(fn: Listener<VideoFrame>): () => void {
    this.videoListeners.add(fn);
    return () => this.videoListeners.delete(fn);
  }

  onConnection(fn: Listener<ConnectionInfo>): () => void {
    this.connectionListeners.add(fn);
    return () => this.connectionListeners.delete(fn);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onopen = s.onclose = s.onerror = s.onmessage = null;
      s.close();
    }
    this.failAll('disconnected', 'client stopped');
    this.setInfo({ state: 'closed', attempt: 0, retryAt: null });
  }

  /** Reconnects now (skips the remaining backoff). */
  reconnectNow(): void {
    if (this.stopped || this.info.state === 'open' || this.info.state === 'connecting') return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  /** Changes the subscription (kept for later reconnects). */
  subscribe(sub: Subscribe): void {
    this.opts.subscribe = sub;
    this.sendJson({ type: 'subscribe', ...sub });
  }

  /**
   * Sends `{target, payload:{cmd,args}}` with a fresh id; resolves with the ack's `result`,
   * rejects with a [`CommandError`] on an `error` reply, a timeout or a lost connection.
   */
  command(target: string, cmd: string, args: Record<string, unknown> = {}): Promise<unknown> {
    const id = `${this.prefix}-${++this.seq}`;
    return new Promise((resolve, reject) => {
      if (!this.socket || this.socket.readyState !== OPEN || this.info.state !== 'open') {
        reject(new CommandError('disconnected', 'not connected to the server', id, target, cmd));
        return;
      }
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) {
          reject(new CommandError('timeout', `no reply to ${cmd} within ${this.opts.commandTimeoutMs} ms`, id, target, cmd));
        }
      }, this.opts.commandTimeoutMs);
      this.pending.set(id, { resolve, reject, timer, target, cmd });
      this.sendJson({ type: 'command', id, target, payload: { cmd, args } });
    });
  }

  /** Commands still waiting for a reply. */
  get pendingCount(): number {
    return this.pending.size;
  }

  private sendJson(msg: ClientMessage): boolean {
    const s = this.socket;
    if (!s || s.readyState !== OPEN) return false;
    s.send(JSON.stringify(msg));
    return true;
  }

  private connect(): void {
    this.retryTimer = null;
    this.setInfo({ state: 'connecting', attempt: this.info.attempt, retryAt: null });
    let s: SocketLike;
    try {
      s = this.opts.createSocket(this.opts.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    s.binaryType = 'arraybuffer';
    this.socket = s;
    s.onopen = () => {
      if (this.socket !== s) return;
      this.lastReceived = this.opts.now();
      this.setInfo({ state: 'open', attempt: 0, retryAt: null });
      this.sendJson({ type: 'subscribe', ...this.opts.subscribe });
      this.startHeartbeat();
    };
    s.onmessage = (ev) => {
      if (this.socket !== s) return;
      this.lastReceived = this.opts.now();
      this.handle(ev.data);
    };
    s.onclose = () => {
      if (this.socket !== s) return;
      this.socket = null;
      this.onLost();
    };
    s.onerror = () => {
      // A close event always follows; nothing to do here.
    };
  }

  private onLost(): void {
    this.stopHeartbeat();
    this.failAll('disconnected', 'connection lost');
    if (this.stopped) {
      this.setInfo({ state: 'closed', attempt: 0, retryAt: null });
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const attempt = this.info.attempt + 1;
    const delay = Math.min(this.opts.maxBackoffMs, this.opts.initialBackoffMs * 2 ** (attempt - 1));
    this.setInfo({ state: 'reconnecting', attempt, retryAt: this.opts.now() + delay });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private handle(data: unknown): void {
    if (typeof data === 'string') {
      let msg: ServerMessage;
      try {
        msg = JSON.parse(data) as ServerMessage;
      } catch {
        return;
      }
      if (msg.type === 'ack' || msg.type === 'error') this.settle(msg);
      for (const fn of this.messageListeners) fn(msg);
      return;
    }
    if (data instanceof ArrayBuffer) {
      const frame = parseVideoFrame(data);
      if (frame) for (const fn of this.videoListeners) fn(frame);
    }
  }

  private settle(msg: Extract<ServerMessage, { type: 'ack' } | { type: 'error' }>): void {
    if (msg.id === null || msg.id === undefined) return;
    const id = String(msg.id);
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (msg.type === 'ack') p.resolve(msg.result);
    else p.reject(new CommandError(msg.code, msg.message, id, p.target, p.cmd));
  }

  private failAll(code: CommandErrorCode, message: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new CommandError(code, message, id, p.target, p.cmd));
    }
    this.pending.clear();
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    const period = this.opts.heartbeatMs;
    if (period <= 0) return;
    this.heartbeatTimer = setInterval(() => {
      const s = this.socket;
      if (!s) return;
      if (this.opts.now() - this.lastReceived > 2 * period) {
        // Silent for too long: drop it and reconnect.
        s.onopen = s.onclose = s.onerror = s.onmessage = null;
        s.close();
        this.socket = null;
        this.onLost();
        return;
      }
      this.sendJson({ type: 'ping', id: `${this.prefix}-ping-${++this.seq}` });
    }, period);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private clearTimers(): void {
    this.stopHeartbeat();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private setInfo(info: ConnectionInfo): void {
    this.info = info;
    for (const fn of this.connectionListeners) fn(info);
  }
}

/** `ws://host/ws/stream` for the page's own origin. */
export function streamUrl(loc: { protocol: string; host: string } = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws/stream`;
}
