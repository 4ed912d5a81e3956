/**
 * Recordings and clips as the Recordings panel shows them: the shapes of
 * `GET /api/v1/recordings` and `GET /api/v1/clips` (declared here, all fields checked at
 * runtime since they are not generated types), their list model, and formatting.
 */
import { withToken } from './auth';

export interface RecFile {
  name: string;
  bytes: number;
  content_type: string;
  url: string;
  frames?: number;
  duration_s?: number;
}

export interface ActiveRecording {
  session: string;
  elapsed_s: number;
  frames: number;
  bytes: number;
  dropped: number;
}

export interface RecSession {
  name: string;
  bytes: number;
  duration_s: number;
  active: boolean;
  files: RecFile[];
}

export interface RecClip {
  id: string;
  file: RecFile;
  meta: Record<string, unknown> | null;
}

/** One playable row of the panel. */
export interface PlayItem {
  /** Unique key (`clip:<id>` or `session:<name>/<file>`). */
  key: string;
  kind: 'clip' | 'session';
  /** What the row says. */
  title: string;
  /** Source, frames, duration and size. */
  detail: string;
  /** The MP4 URL (with `?token=` when there is a token). */
  url: string;
  frames: number | null;
  duration_s: number | null;
}

export interface SessionView {
  name: string;
  active: boolean;
  summary: string;
  videos: PlayItem[];
  /** Other files (JSON lines, JSON) as download links. */
  others: { name: string; url: string; size: string }[];
}

export interface RecordingsView {
  dir: string;
  active: ActiveRecording | null;
  clips: PlayItem[];
  sessions: SessionView[];
}

/** `1.5 kB`, `12.3 MB`: decimal units, three significant digits at most. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  const digits = v < 10 ? 2 : v < 100 ? 1 : 0;
  return `${v.toFixed(digits)} ${units[u]}`;
}

/** `0:07.3` under a minute, `12:05` under an hour, `1:02:03` beyond. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '—';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (x: number) => String(x).padStart(2, '0');
  if (h > 0) return `${h}:${pad(m)}:${pad(Math.floor(sec))}`;
  if (m > 0) return `${m}:${pad(Math.floor(sec))}`;
  return `0:${sec < 10 ? '0' : ''}${(Math.floor(sec * 10) / 10).toFixed(1)}`;
}

/**
 * Elapsed time and size of the recording in progress, `dt_s` seconds after the server
 * reported `active` (so the clock keeps moving between polls; the size is the last known).
 */
export function activeLine(active: ActiveRecording, dt_s = 0): string {
  const dropped = active.dropped > 0 ? ` · ${active.dropped} dropped` : '';
  return `● ${formatDuration(active.elapsed_s + Math.max(0, dt_s))} · ${formatBytes(active.bytes)} · ${active.frames} frames${dropped}`;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const obj = (v: unknown): Record<string, unknown> | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

function parseFile(v: unknown): RecFile | null {
  const o = obj(v);
  const name = str(o?.name);
  const url = str(o?.url);
  if (!o || !name || !url) return null;
  return {
    name,
    url,
    bytes: num(o.bytes) ?? 0,
    content_type: str(o.content_type) ?? 'application/octet-stream',
    frames: num(o.frames) ?? undefined,
    duration_s: num(o.duration_s) ?? undefined,
  };
}

function parseActive(v: unknown): ActiveRecording | null {
  const o = obj(v);
  const session = str(o?.session);
  if (!o || !session) return null;
  return {
    session,
    elapsed_s: num(o.elapsed_s) ?? 0,
    frames: num(o.frames) ?? 0,
    bytes: num(o.bytes) ?? 0,
    dropped: num(o.dropped) ?? 0,
  };
}

function fileDetail(f: RecFile, extra: string[] = []): string {
  const parts = [...extra];
  if (f.duration_s !== undefined) parts.push(formatDuration(f.duration_s));
  if (f.frames !== undefined) parts.push(`${f.frames} frames`);
  parts.push(formatBytes(f.bytes));
  return parts.join(' · ');
}

const isVideo = (f: RecFile) => f.content_type === 'video/mp4' || f.name.endsWith('.mp4');

/** The panel's model from the two REST bodies (either may be null when its fetch failed). */
export function recordingsView(recordings: unknown, clips: unknown, token: string | null = null): RecordingsView {
  const r = obj(recordings);
  const c = obj(clips);
  const sessions: SessionView[] = [];
  for (const s of Array.isArray(r?.sessions) ? r.sessions : []) {
    const o = obj(s);
    const name = str(o?.name);
    if (!o || !name) continue;
    const files = (Array.isArray(o.files) ? o.files : []).map(parseFile).filter((f): f is RecFile => f !== null);
    const active = o.active === true;
    const bytes = num(o.bytes) ?? files.reduce((a, f) => a + f.bytes, 0);
    const duration = num(o.duration_s) ?? 0;
    sessions.push({
      name,
      active,
      summary: active ? 'recording…' : `${formatDuration(duration)} · ${formatBytes(bytes)}`,
      videos: files.filter(isVideo).map((f) => ({
        key: `session:${name}/${f.name}`,
        kind: 'session',
        title: f.name.replace(/\.mp4$/, ''),
        detail: fileDetail(f),
        url: withToken(f.url, token),
        frames: f.frames ?? null,
        duration_s: f.duration_s ?? null,
      })),
      others: files.filter((f) => !isVideo(f)).map((f) => ({ name: f.name, url: withToken(f.url, token), size: formatBytes(f.bytes) })),
    });
  }
  const clipItems: PlayItem[] = [];
  for (const x of Array.isArray(c?.clips) ? c.clips : []) {
    const o = obj(x);
    const id = str(o?.id);
    const file = parseFile(o?.file);
    if (!o || !id || !file) continue;
    const meta = obj(o.meta);
    const label = str(meta?.label) ?? '';
    const source = str(meta?.source);
    clipItems.push({
      key: `clip:${id}`,
      kind: 'clip',
      title: label !== '' ? label : id,
      detail: fileDetail(file, source ? [source] : []),
      url: withToken(file.url, token),
      frames: file.frames ?? null,
      duration_s: file.duration_s ?? null,
    });
  }
  return { dir: str(r?.recordings_dir) ?? '', active: parseActive(r?.active), clips: clipItems, sessions };
}

/** The source `save_clip` goes to: the chosen one when it still exists, else the first. */
export function clipTarget(sources: { id: string }[], chosen: string | null): string | null {
  if (chosen && sources.some((s) => s.id === chosen)) return chosen;
  return sources[0]?.id ?? null;
}
