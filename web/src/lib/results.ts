/**
 * Typed, defensive readers for the result namespaces the UI draws. Results are `any` on the
 * wire; these return empty values for anything missing or malformed.
 */

export interface Point {
  x: number;
  y: number;
}

export interface BlobView extends Point {
  id: number;
  area: number;
  bbox: { x: number; y: number; w: number; h: number } | null;
}

export interface MarkerView extends Point {
  id: string;
  label: string;
  attached: boolean;
  blob: number | null;
}

export type ToolType = 'angle' | 'distance' | 'line_angle';

export interface ToolView {
  id: string;
  type: string;
  points: string[];
  value: number | null;
  valid: boolean;
  color: string | null;
  min: number | null;
  max: number | null;
  mean: number | null;
  reference: string | null;
}

export interface KeypointView extends Point {
  id: string;
  score: number;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function obj(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

export function readBlobs(results: Record<string, unknown> | undefined, ns = 'blob_detection'): BlobView[] {
  const r = obj(results?.[ns]);
  const list = Array.isArray(r?.blobs) ? r.blobs : [];
  const out: BlobView[] = [];
  list.forEach((b: unknown, i: number) => {
    const o = obj(b);
    const x = num(o?.x);
    const y = num(o?.y);
    if (!o || x === null || y === null) return;
    const bb = obj(o.bbox);
    const bx = num(bb?.x), by = num(bb?.y), bw = num(bb?.w), bh = num(bb?.h);
    out.push({
      id: num(o.id) ?? i,
      x,
      y,
      area: num(o.area) ?? 0,
      bbox: bx !== null && by !== null && bw !== null && bh !== null ? { x: bx, y: by, w: bw, h: bh } : null,
    });
  });
  return out;
}

export function readBlobCount(results: Record<string, unknown> | undefined, ns = 'blob_detection'): number | null {
  const r = obj(results?.[ns]);
  if (!r) return null;
  return num(r.count) ?? (Array.isArray(r.blobs) ? r.blobs.length : null);
}

export function readMarkers(results: Record<string, unknown> | undefined, ns = 'marker_manager'): MarkerView[] {
  const r = obj(results?.[ns]);
  const m = obj(r?.markers);
  if (!m) return [];
  const out: MarkerView[] = [];
  for (const [id, v] of Object.entries(m)) {
    const o = obj(v);
    const x = num(o?.x);
    const y = num(o?.y);
    if (!o || x === null || y === null) continue;
    out.push({
      id,
      x,
      y,
      label: typeof o.label === 'string' ? o.label : id,
      attached: o.attached === true,
      blob: num(o.blob),
    });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }));
}

export function readTools(results: Record<string, unknown> | undefined, ns = 'geometry'): ToolView[] {
  const r = obj(results?.[ns]);
  if (!r) return [];
  const out: ToolView[] = [];
  for (const [id, v] of Object.entries(r)) {
    const o = obj(v);
    if (!o || !Array.isArray(o.points)) continue;
    out.push({
      id,
      type: typeof o.type === 'string' ? o.type : 'angle',
      points: o.points.map(String),
      value: num(o.value),
      valid: o.valid !== false && num(o.value) !== null,
      color: typeof o.color === 'string' ? o.color : null,
      min: num(o.min),
      max: num(o.max),
      mean: num(o.mean),
      reference: typeof o.reference === 'string' ? o.reference : null,
    });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }));
}

export function readKeypoints(results: Record<string, unknown> | undefined): KeypointView[] {
  // Any namespace may publish keypoints; `vision` is the usual one.
  const out: KeypointView[] = [];
  for (const v of Object.values(results ?? {})) {
    const list = obj(v)?.keypoints;
    if (!Array.isArray(list)) continue;
    list.forEach((k: unknown, i: number) => {
      const o = obj(k);
      const x = num(o?.x);
      const y = num(o?.y);
      if (!o || x === null || y === null) return;
      const id = typeof o.id === 'string' || typeof o.id === 'number' ? String(o.id) : String(i);
      out.push({ id, x, y, score: num(o.score) ?? 1 });
    });
  }
  return out;
}

/** Every named point a geometry tool can use: markers (id and label), `blob_N`, keypoint ids. */
export function namedPoints(
  results: Record<string, unknown> | undefined,
  ns: { blobs: string; markers: string } = { blobs: 'blob_detection', markers: 'marker_manager' },
): Map<string, Point> {
  const pts = new Map<string, Point>();
  for (const k of readKeypoints(results)) pts.set(k.id, k);
  for (const b of readBlobs(results, ns.blobs)) pts.set(`blob_${b.id}`, b);
  for (const m of readMarkers(results, ns.markers)) {
    pts.set(m.label, m);
    pts.set(m.id, m);
  }
  return pts;
}
