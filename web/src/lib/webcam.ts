/**
 * "Use my webcam" (seed 003): frames from getUserMedia, JPEG-encoded and pushed as binary
 * messages to `/ws/ingest/{source}`. At most one frame is in flight on the socket: the server
 * keeps only the latest anyway, so sending faster than it drains only adds latency. The age
 * of each result (grab → snapshot back in the page) is measured by `FrameAges`.
 */
import { ingestUrl } from './api';
import { authToken, withToken } from './auth';
import { FrameAges, type AgeStats } from './frameAge';

export interface WebcamStats {
  sent: number;
  skipped: number;
  lastError: string | null;
  /** Frame age at result over recent frames (null until a result came back). */
  age: AgeStats | null;
}

export interface WebcamOptions {
  fps?: number;
  width?: number;
  height?: number;
  quality?: number;
  onError?: (message: string) => void;
  onStats?: (s: WebcamStats) => void;
}

export class WebcamSender {
  private stream: MediaStream | null = null;
  private socket: WebSocket | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private busy = false;
  private readonly stats: WebcamStats = { sent: 0, skipped: 0, lastError: null, age: null };
  private readonly ages = new FrameAges();

  constructor(
    private readonly sourceId: string,
    private readonly opts: WebcamOptions = {},
  ) {}

  async start(): Promise<void> {
    const width = this.opts.width ?? 640;
    const height = this.opts.height ?? 480;
    this.stream = await navigator.mediaDevices.getUserMedia({ video: { width, height }, audio: false });
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.srcObject = this.stream;
    await video.play();
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2D canvas');
    const socket = new WebSocket(withToken(ingestUrl(this.sourceId), authToken()));
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      try {
        const m = JSON.parse(ev.data) as { type?: string; message?: string; result?: unknown };
        if (m.type === 'ack' || m.type === 'error') this.ages.answered(m);
        if (m.type === 'error' && m.message) this.fail(m.message);
      } catch {
        /* not JSON: ignore */
      }
    };
    socket.onclose = () => {
      if (this.socket === socket) this.fail('ingest connection closed');
    };
    const period = 1000 / (this.opts.fps ?? 15);
    this.timer = setInterval(() => {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN || video.videoWidth === 0) return;
      if (this.busy || this.socket.bufferedAmount > 0) {
        this.stats.skipped++;
        return;
      }
      this.busy = true;
      const grabbed = performance.now();
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      ctx.drawImage(video, 0, 0);
      canvas.toBlob(
        (blob) => {
          if (!blob || !this.socket) {
            this.busy = false;
            return;
          }
          void blob.arrayBuffer().then((buf) => {
            this.busy = false;
            if (this.socket?.readyState === WebSocket.OPEN) {
              this.socket.send(buf);
              this.ages.sent(grabbed);
              this.stats.sent++;
              this.opts.onStats?.({ ...this.stats });
            }
          });
        },
        'image/jpeg',
        this.opts.quality ?? 0.8,
      );
    }, period);
  }

  /**
   * A snapshot of this webcam's source arrived (capture time `t_ns`): its frame's age at
   * result is recorded when it is one of ours.
   */
  onSnapshot(t_ns: number, now = performance.now()): void {
    if (this.ages.result(t_ns, now) === null) return;
    this.stats.age = this.ages.stats();
    this.opts.onStats?.({ ...this.stats });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const s = this.socket;
    this.socket = null;
    s?.close();
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.stream = null;
  }

  private fail(message: string): void {
    this.stats.lastError = message;
    this.opts.onError?.(message);
    this.opts.onStats?.({ ...this.stats });
  }
}
