/**
 * The app's state outside React: the connection, the newest snapshot, the overlay buffer, the
 * stages and their optimistic params, toasts, errors and timing histories. React reads it with
 * `useSyncExternalStore`; updates driven by snapshots are batched to ~10 per second, while the
 * canvas reads `overlay` and video directly every animation frame.
 */
import type { Notification } from '../protocol/Notification';
import type { RuleStatus } from '../protocol/RuleStatus';
import type { RunState } from '../protocol/RunState';
import type { ServerMessage } from '../protocol/ServerMessage';
import type { Snapshot } from '../protocol/Snapshot';
import {
  browserSources,
  getJson,
  manifestsFrom,
  stageViews,
  type EffectiveConfig,
  type PluginManifest,
  type StageView,
} from './api';
import { CommandError, FramebusClient, type ConnectionInfo } from './client';
import { DEFAULT_NS, type Namespaces } from './draw';
import { addTrigger, attachClip, type HighlightEntry } from './highlights';
import { Ring } from './history';
import { FrameHistory, InterpolationBuffer } from './interpolate';
import { ParamSync, type Params, type Rollback } from './optimistic';
import { recordingsView, type RecordingsView } from './recordings';

export type ToastLevel = Notification['level'];

export interface Toast {
  id: number;
  level: ToastLevel;
  title: string;
  message: string;
}

export interface LoggedError {
  id: number;
  at: number;
  source: string;
  message: string;
  count: number;
}

export interface UiState {
  connection: ConnectionInfo;
  snapshot: Snapshot | null;
  runState: RunState | null;
  plugins: PluginManifest[];
  config: EffectiveConfig | null;
  stages: StageView[];
  toasts: Toast[];
  errors: LoggedError[];
  /** Bumped when the timing histories changed. */
  timingVersion: number;
  loadError: string | null;
  /** Sessions and clips from the REST listings (null until first fetched). */
  recordings: RecordingsView | null;
  /** `performance.now()` when `recordings` was fetched (to advance the elapsed clock). */
  recordingsAt: number;
  /** Fusion triggers, newest first, joined to their clips. */
  highlights: HighlightEntry[];
  /** Each source's rules and their phases, from its newest snapshot. */
  rules: Record<string, RuleStatus[]>;
}

const SNAPSHOT_UI_PERIOD_MS = 100;
/** Source kinds without exposure or gain. */
const NOT_A_CAMERA = /browser|image|file|video|replay|bench/i;
const MAX_ERRORS = 50;

export class AppModel {
  readonly client: FramebusClient;
  /** Results of the last two snapshots, for overlays at display rate. */
  readonly overlay = new InterpolationBuffer<Record<string, unknown>>();
  /** Results of recent frames, to draw exactly those of the video frame on screen. */
  readonly frames = new FrameHistory<Record<string, unknown>>();
  /** Per-stage time (ms) of recent frames. */
  readonly timings = new Map<string, Ring>();
  readonly fpsHistory = new Ring(120);
  private readonly syncs = new Map<string, ParamSync>();
  private readonly listeners = new Set<() => void>();
  private state: UiState;
  private nextId = 1;
  private pendingSnapshot: Snapshot | null = null;
  private pendingRules: Record<string, RuleStatus[]> = {};
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly toastTimers = new Map<number, ReturnType<typeof setTimeout>>();
  private readonly fetchFn: typeof fetch;
  private readonly token: string | null;
  private recordingsSeq = 0;

  constructor(client: FramebusClient, fetchFn: typeof fetch = (...a) => fetch(...a), token: string | null = null) {
    this.client = client;
    this.fetchFn = fetchFn;
    this.token = token;
    this.state = {
      connection: client.connection,
      snapshot: null,
      runState: null,
      plugins: [],
      config: null,
      stages: [],
      toasts: [],
      errors: [],
      timingVersion: 0,
      loadError: null,
      recordings: null,
      recordingsAt: 0,
      highlights: [],
      rules: {},
    };
    client.onConnection((c) => {
      const wasOpen = this.state.connection.state === 'open';
      this.set({ connection: c });
      if (c.state === 'open') void this.load();
      if (wasOpen && c.state !== 'open') {
        this.overlay.reset();
        this.frames.clear();
      }
    });
    client.onMessage((m) => this.onMessage(m));
  }

  getState = (): UiState => this.state;

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  start(): void {
    this.client.start();
  }

  stop(): void {
    this.client.stop();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const t of this.toastTimers.values()) clearTimeout(t);
  }

  get recording(): boolean {
    return (this.state.snapshot?.state ?? this.state.runState) === 'recording';
  }

  /** Optimistic params of a command target (a stage id or a source id). */
  params(target: string): ParamSync {
    let s = this.syncs.get(target);
    if (!s) {
      s = new ParamSync(
        (partial) => this.client.command(target, 'set_params', partial),
        (r) => this.onRollback(target, r),
      );
      this.syncs.set(target, s);
    }
    return s;
  }

  /** Sends a command; a failure becomes an error toast and an errors-panel entry. */
  async command(target: string, cmd: string, args: Record<string, unknown> = {}): Promise<unknown> {
    try {
      return await this.client.command(target, cmd, args);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const code = e instanceof CommandError ? e.code : 'error';
      this.toast('error', `${target}: ${cmd} failed (${code})`, message);
      this.logError(target, `${cmd}: ${message}`);
      throw e;
    }
  }

  /**
   * A REST call that changes something (`POST`/`PUT` with a JSON body). The reply body is
   * returned; a failure (`{code, message}` or the error reply of a command) becomes an error
   * toast and is thrown.
   */
  async rest(method: 'POST' | 'PUT', path: string, body?: unknown): Promise<unknown> {
    const res = await this.fetchFn(path, {
      method,
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const reply: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      const r = (reply ?? {}) as { code?: string; message?: string };
      const message = r.message ?? `HTTP ${res.status}`;
      this.toast('error', `${method} ${path} failed (${r.code ?? res.status})`, message);
      this.logError(path, message);
      throw new Error(message);
    }
    return reply;
  }

  toast(level: ToastLevel, title: string, message: string): void {
    const id = this.nextId++;
    const toasts = [...this.state.toasts, { id, level, title, message }].slice(-6);
    this.set({ toasts });
    const ttl = level === 'error' ? 8000 : level === 'warning' ? 6000 : 4000;
    this.toastTimers.set(id, setTimeout(() => this.dismissToast(id), ttl));
  }

  dismissToast(id: number): void {
    const t = this.toastTimers.get(id);
    if (t) clearTimeout(t);
    this.toastTimers.delete(id);
    this.set({ toasts: this.state.toasts.filter((x) => x.id !== id) });
  }

  clearErrors(): void {
    this.set({ errors: [] });
  }

  /** Fetches plugins and config, then every stage's params (on each connect). */
  async load(): Promise<void> {
    try {
      const [plugins, config] = await Promise.all([
        getJson<unknown>('/api/v1/plugins', this.fetchFn),
        getJson<EffectiveConfig>('/api/v1/config', this.fetchFn),
      ]);
      this.applyConfig(config, manifestsFrom(plugins));
      this.set({ loadError: null });
    } catch (e) {
      this.set({ loadError: e instanceof Error ? e.message : String(e) });
      return;
    }
    await Promise.all(this.state.stages.map((s) => this.refreshParams(s.id)));
    const cam = this.cameraTarget();
    if (cam) await this.refreshParams(cam, true);
  }

  /**
   * `GET /api/v1/recordings` and `GET /api/v1/clips` into `recordings`. A listing that fails
   * keeps the previous one and logs the error; an older reply never overwrites a newer one.
   */
  async refreshRecordings(): Promise<void> {
    const seq = ++this.recordingsSeq;
    try {
      const [recordings, clips] = await Promise.all([
        getJson<unknown>('/api/v1/recordings', this.fetchFn),
        getJson<unknown>('/api/v1/clips', this.fetchFn),
      ]);
      if (seq !== this.recordingsSeq) return;
      this.set({ recordings: recordingsView(recordings, clips, this.token), recordingsAt: performance.now() });
    } catch (e) {
      this.logError('recordings', e instanceof Error ? e.message : String(e));
    }
  }

  /** Asks `source` to save a clip of the 5 s before and after now (the ack carries its id). */
  async saveClip(source: string, pre_s = 5, post_s = 5): Promise<unknown> {
    return this.command(source, 'save_clip', { pre_s, post_s });
  }

  /** `get_params` of a target into its optimistic store. */
  async refreshParams(target: string, quiet = false): Promise<void> {
    try {
      const p = await this.client.command(target, 'get_params');
      if (isObject(p)) this.params(target).store.setConfirmed(p);
    } catch (e) {
      if (!quiet && !(e instanceof CommandError && e.code === 'disconnected')) {
        this.logError(target, `get_params: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  /**
   * The source the camera controls talk to: the first source that is a camera (not a browser
   * upload, a file, an image sequence or a replay). Null when there is none.
   */
  cameraTarget(): string | null {
    const src = (this.state.config?.sources ?? []).find((s) => !NOT_A_CAMERA.test(s.kind));
    return src?.id ?? null;
  }

  /** The first stage instance of a plugin. */
  stageByPlugin(plugin: string): StageView | null {
    return this.state.stages.find((s) => s.plugin === plugin) ?? null;
  }

  /** Command targets and result namespaces of the stages the canvas works with. */
  tools(): { markers: string; geometry: string; ns: Namespaces } {
    const blobs = this.stageByPlugin('blob_detection');
    const markers = this.stageByPlugin('marker_manager');
    const geometry = this.stageByPlugin('geometry_manager');
    return {
      markers: markers?.id ?? 'marker_manager',
      geometry: geometry?.id ?? 'geometry_manager',
      ns: {
        blobs: blobs?.namespace ?? DEFAULT_NS.blobs,
        markers: markers?.namespace ?? DEFAULT_NS.markers,
        geometry: geometry?.namespace ?? DEFAULT_NS.geometry,
      },
    };
  }

  hasBrowserSource(): boolean {
    return browserSources(this.state.config).length > 0;
  }

  private applyConfig(config: EffectiveConfig, plugins: PluginManifest[] = this.state.plugins): void {
    const stages = stageViews(config, plugins);
    for (const s of stages) {
      const store = this.params(s.id).store;
      if (Object.keys(store.confirmedValues).length === 0) store.setConfirmed(s.configParams);
    }
    this.set({ config, plugins, stages });
  }

  private onMessage(m: ServerMessage): void {
    switch (m.type) {
      case 'snapshot':
        this.onSnapshot(m);
        break;
      case 'notification':
      case 'alert':
        this.toast(m.level, m.title || m.source, m.message);
        if (m.level === 'error' || m.type === 'alert') this.logError(m.source, `${m.title}: ${m.message}`);
        break;
      case 'state_changed':
        this.set({ runState: m.to });
        void this.refreshRecordings();
        break;
      case 'trigger':
        this.set({ highlights: addTrigger(this.state.highlights, m) });
        break;
      case 'clip_saved':
        this.set({ highlights: attachClip(this.state.highlights, m) });
        this.toast('info', 'Clip saved', `${m.label || m.id} (${m.source}): ${m.duration_s.toFixed(1)} s, ${m.frames} frames`);
        void this.refreshRecordings();
        break;
      case 'recording_saved':
        void this.refreshRecordings();
        break;
      case 'config':
        if (isObject(m.config)) this.applyConfig(m.config as EffectiveConfig);
        break;
      case 'error':
        // Replies to our own commands are handled by their callers.
        if (m.id === null) this.logError('server', `${m.code}: ${m.message}`);
        break;
      default:
        break;
    }
  }

  private onSnapshot(s: Snapshot): void {
    this.overlay.push(s.results ?? {}, performance.now());
    this.frames.push(s.camera_id, s.frame_id, s.results ?? {});
    for (const p of s.active_plugins ?? []) {
      let r = this.timings.get(p.id);
      if (!r) this.timings.set(p.id, (r = new Ring(120)));
      r.push(p.performance_ms);
    }
    this.fpsHistory.push(s.fps);
    for (const n of s.notifications ?? []) this.toast(n.level, n.title || n.source, n.message);
    for (const e of s.errors ?? []) this.logError(e.stage, e.disabled ? `disabled: ${e.message}` : e.message, true);
    this.confirmFromResults(s);
    if (s.rules?.length) this.pendingRules[s.source] = s.rules;
    this.pendingSnapshot = s;
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        const snap = this.pendingSnapshot;
        this.pendingSnapshot = null;
        const rules = this.takeRules();
        if (snap) this.set({ snapshot: snap, runState: snap.state, timingVersion: this.state.timingVersion + 1, ...rules });
      }, this.state.snapshot ? SNAPSHOT_UI_PERIOD_MS : 0);
    }
  }

  /** Rule phases that arrived since the last UI update, merged into `rules` (or nothing). */
  private takeRules(): Partial<UiState> {
    const fresh = this.pendingRules;
    if (Object.keys(fresh).length === 0) return {};
    this.pendingRules = {};
    return { rules: { ...this.state.rules, ...fresh } };
  }

  /** Params in force reported in results (`results[ns].params`, camera settings) are truth. */
  private confirmFromResults(s: Snapshot): void {
    const results = s.results ?? {};
    for (const st of this.state.stages) {
      const r = results[st.namespace];
      if (isObject(r) && isObject(r.params)) this.params(st.id).store.setConfirmed(r.params);
    }
    const cam = results.camera_control;
    const target = this.cameraTarget();
    if (target && isObject(cam)) {
      const live: Params = {};
      for (const [k, v] of Object.entries(cam)) if (v !== null) live[k] = v;
      this.params(target).store.setConfirmed(live);
    }
  }

  private onRollback(target: string, r: Rollback): void {
    const json = r.restored === undefined ? 'its previous value' : JSON.stringify(r.restored);
    const shown = json.length > 60 ? `${json.slice(0, 57)}…` : json;
    this.toast('error', `${target}.${r.key} not changed`, `${r.message} — back to ${shown}`);
    this.logError(target, `set_params ${r.key}=${JSON.stringify(r.wanted)}: ${r.message}`);
  }

  private logError(source: string, message: string, fromSnapshot = false): void {
    const errors = this.state.errors;
    const last = errors.find((e) => e.source === source && e.message === message);
    if (last) {
      if (fromSnapshot) return; // the same stage error repeats every frame
      this.set({ errors: errors.map((e) => (e === last ? { ...e, count: e.count + 1, at: Date.now() } : e)) });
      return;
    }
    const entry = { id: this.nextId++, at: Date.now(), source, message, count: 1 };
    this.set({ errors: [entry, ...errors].slice(0, MAX_ERRORS) });
  }

  private set(patch: Partial<UiState>): void {
    this.state = { ...this.state, ...patch };
    for (const fn of this.listeners) fn();
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
