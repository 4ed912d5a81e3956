import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FramebusClient, type SocketLike } from './client';
import { AppModel } from './model';

class FakeSocket implements SocketLike {
  binaryType = 'blob';
  readyState = 0;
  sent: { type: string; id?: string; target?: string; payload?: { cmd: string; args: Record<string, unknown> } }[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  send(data: unknown) {
    this.sent.push(JSON.parse(String(data)));
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
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  /** Answers every command not answered yet with `reply(cmd)`. */
  answer(reply: (target: string, cmd: string, args: Record<string, unknown>) => unknown) {
    for (const m of this.sent.splice(0)) {
      if (m.type !== 'command' || !m.payload || !m.target) continue;
      const r = reply(m.target, m.payload.cmd, m.payload.args);
      if (r instanceof Error) this.receive({ type: 'error', id: m.id, code: 'busy', message: r.message });
      else this.receive({ type: 'ack', id: m.id, target: m.target, cmd: m.payload.cmd, result: r });
    }
  }
}

const plugins = [
  { id: 'blob_detection', namespace: null, params_schema: { type: 'object', properties: { threshold: { type: 'integer', minimum: 0, maximum: 255 } } }, commands: [] },
  { id: 'geometry_manager', namespace: 'geometry', params_schema: { type: 'object', properties: {} }, commands: [] },
];
const config = {
  sources: [{ id: 'camera_0', kind: 'synthetic', params: { width: 640, height: 480 } }],
  stages: [{ plugin: 'blob_detection', enabled: true, params: { threshold: 200 } }, { plugin: 'geometry_manager', enabled: true, params: {} }],
};

const fetchFn = (async (path: string) => ({
  ok: true,
  status: 200,
  json: async () => (String(path).endsWith('/plugins') ? plugins : config),
})) as unknown as typeof fetch;

const tick = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

function snapshot(extra: Record<string, unknown> = {}) {
  return {
    type: 'snapshot', frame_id: 1, camera_id: 0, source: 'camera_0', width: 640, height: 480, t_ns: 0, sequence: 1, fps: 30, state: 'running',
    results: { blob_detection: { blobs: [], count: 0, params: { threshold: 180 } } },
    signals: {}, widgets: [], notifications: [], active_plugins: [{ id: 'blob_detection', performance_ms: 1.5, enabled: true }],
    errors: [], dropped: {}, ...extra,
  };
}

let sock: FakeSocket;
let model: AppModel;

beforeEach(() => {
  vi.useFakeTimers();
  const client = new FramebusClient({ url: 'ws://x', subscribe: { streams: ['state'] }, createSocket: () => (sock = new FakeSocket()), heartbeatMs: 0 });
  model = new AppModel(client, fetchFn);
  model.start();
  sock.open();
});
afterEach(() => {
  model.stop();
  vi.useRealTimers();
});

describe('AppModel', () => {
  it('loads stages with manifests and namespaces, then their params', async () => {
    await tick();
    const ui = model.getState();
    expect(ui.stages.map((s) => [s.id, s.namespace])).toEqual([['blob_detection', 'blob_detection'], ['geometry_manager', 'geometry']]);
    expect(model.tools()).toMatchObject({ geometry: 'geometry_manager', ns: { geometry: 'geometry', blobs: 'blob_detection' } });
    expect(model.params('blob_detection').store.values).toEqual({ threshold: 200 });
    sock.answer((target, cmd) => (cmd === 'get_params' && target === 'blob_detection' ? { threshold: 190 } : {}));
    await tick();
    expect(model.params('blob_detection').store.values).toEqual({ threshold: 190 });
  });

  it('takes params in force from results and tracks stage timings', async () => {
    await tick();
    sock.receive(snapshot());
    expect(model.params('blob_detection').store.values.threshold).toBe(180);
    expect(model.timings.get('blob_detection')?.values()).toEqual([1.5]);
    vi.advanceTimersByTime(1);
    expect(model.getState().snapshot?.frame_id).toBe(1);
    expect(model.overlay.current).toMatchObject({ blob_detection: { count: 0 } });
  });

  it('a refused change rolls back with an error toast and an errors entry', async () => {
    await tick();
    sock.sent.length = 0;
    const sync = model.params('blob_detection');
    sync.store.setConfirmed({ threshold: 200 });
    sync.set('threshold', 50);
    expect(sync.store.values.threshold).toBe(50);
    sock.answer(() => new Error('parameters are locked while recording'));
    await tick();
    expect(sync.store.values.threshold).toBe(200);
    const { toasts, errors } = model.getState();
    expect(toasts.at(-1)).toMatchObject({ level: 'error', title: 'blob_detection.threshold not changed' });
    expect(toasts.at(-1)?.message).toContain('locked while recording');
    expect(errors[0]?.source).toBe('blob_detection');
    vi.advanceTimersByTime(10_000);
    expect(model.getState().toasts).toEqual([]);
  });

  it('notifications become toasts, state changes and recording are tracked', async () => {
    await tick();
    sock.receive({ type: 'notification', level: 'warning', source: 'pipeline', title: 'Slow', message: 'stage took 40 ms' });
    expect(model.getState().toasts.at(-1)).toMatchObject({ level: 'warning', title: 'Slow' });
    sock.receive({ type: 'state_changed', from: 'running', to: 'recording' });
    expect(model.recording).toBe(true);
    // A stage error repeated every frame is listed once.
    const err = { stage: 'blob_detection', message: 'boom', consecutive: 1, disabled: false };
    sock.receive(snapshot({ errors: [err] }));
    sock.receive(snapshot({ errors: [err], sequence: 2 }));
    expect(model.getState().errors.filter((e) => e.message === 'boom')).toHaveLength(1);
  });
});

describe('camera target', () => {
  it('is the first camera-like source, never a browser upload', async () => {
    await tick();
    expect(model.cameraTarget()).toBe('camera_0');
    sock.receive({ type: 'config', config: { sources: [{ id: 'webcam', kind: 'browser' }, { id: 'seq', kind: 'image_sequence' }], stages: [] } });
    expect(model.cameraTarget()).toBeNull();
    expect(model.hasBrowserSource()).toBe(true);
  });
});

describe('recordings', () => {
  it('clip_saved refreshes the listings and says so; save_clip failures become toasts', async () => {
    let clipsServed: unknown[] = [];
    const calls: string[] = [];
    const fetchRec = (async (path: string) => {
      const p = String(path);
      calls.push(p);
      const body = p.endsWith('/plugins') ? plugins : p.endsWith('/clips') ? { clips: clipsServed } : p.endsWith('/recordings') ? { recordings_dir: 'rec', active: null, sessions: [] } : config;
      return { ok: true, status: 200, json: async () => body };
    }) as unknown as typeof fetch;
    model.stop();
    const client = new FramebusClient({ url: 'ws://x', subscribe: { streams: ['state'] }, createSocket: () => (sock = new FakeSocket()), heartbeatMs: 0 });
    model = new AppModel(client, fetchRec, 'tok');
    model.start();
    sock.open();
    await tick();
    await model.refreshRecordings();
    expect(model.getState().recordings).toEqual({ dir: 'rec', active: null, clips: [], sessions: [] });

    clipsServed = [{ id: 'c1', file: { name: 'c1.mp4', bytes: 10, content_type: 'video/mp4', url: '/api/v1/clips/c1.mp4', frames: 30, duration_s: 1 }, meta: { source: 'camera_0', label: '' } }];
    const before = calls.filter((c) => c.endsWith('/clips')).length;
    sock.receive({ type: 'clip_saved', id: 'c1', source: 'camera_0', label: '', path: 'clips/c1.mp4', duration_s: 1, frames: 30 });
    await tick();
    expect(calls.filter((c) => c.endsWith('/clips')).length).toBe(before + 1);
    expect(model.getState().recordings?.clips.map((c) => c.url)).toEqual(['/api/v1/clips/c1.mp4?token=tok']);
    expect(model.getState().toasts.at(-1)).toMatchObject({ level: 'info', title: 'Clip saved' });

    sock.sent.length = 0;
    const p = model.saveClip('camera_0').catch((e: unknown) => e);
    expect(sock.sent.at(-1)).toMatchObject({ type: 'command', target: 'camera_0', payload: { cmd: 'save_clip', args: { pre_s: 5, post_s: 5 } } });
    sock.answer(() => new Error('source `camera_0` keeps no clip ring: set `clips = true`'));
    await p;
    expect(model.getState().toasts.at(-1)).toMatchObject({ level: 'error', title: 'camera_0: save_clip failed (busy)' });
    expect(model.getState().toasts.at(-1)?.message).toContain('clips = true');
  });
});
