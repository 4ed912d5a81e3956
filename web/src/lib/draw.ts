/** Overlay drawing on a 2D canvas: blobs, markers, geometry tools, pose skeletons and hands. */
import { arcAt, formatToolValue, toCanvas, type Fit } from './geometry';
import {
  namedPoints,
  readBlobs,
  readMarkers,
  readTools,
  type Point,
} from './results';
import { poseDrawing, POSE_COLORS, readHands, type AngleLabel, type Segment } from './pose';

export const COLORS = {
  blob: '#4fd1c5',
  marker: '#f6ad55',
  markerAttached: '#68d391',
  selected: '#ffffff',
  tool: '#f687b3',
  skeleton: '#b794f4',
  pick: '#63b3ed',
  text: '#f7fafc',
};

export interface OverlayOptions {
  selectedMarker: string | null;
  /** Points picked so far for a new tool. */
  picked: string[];
  /** Local positions that win over the results (a marker being dragged). */
  overrides: Map<string, Point>;
  /** Result namespaces of the blob, marker and geometry stages. */
  ns: Namespaces;
}

export interface Namespaces {
  blobs: string;
  markers: string;
  geometry: string;
}

export const DEFAULT_NS: Namespaces = { blobs: 'blob_detection', markers: 'marker_manager', geometry: 'geometry' };

function label(ctx: CanvasRenderingContext2D, text: string, x: number, y: number, color: string): void {
  ctx.font = '12px ui-sans-serif, system-ui, sans-serif';
  const w = ctx.measureText(text).width;
  ctx.fillStyle = 'rgba(10, 12, 16, 0.75)';
  ctx.fillRect(x - 3, y - 12, w + 6, 16);
  ctx.fillStyle = color;
  ctx.fillText(text, x, y);
}

/** Results with local overrides applied to markers. */
export function withOverrides(
  results: Record<string, unknown>,
  overrides: Map<string, Point>,
  ns = DEFAULT_NS.markers,
): Record<string, unknown> {
  if (overrides.size === 0) return results;
  const mm = results[ns] as { markers?: Record<string, Record<string, unknown>> } | undefined;
  const markers = { ...(mm?.markers ?? {}) };
  for (const [id, p] of overrides) {
    markers[id] = { label: id, attached: false, blob: null, ...(markers[id] ?? {}), x: p.x, y: p.y };
  }
  return { ...results, [ns]: { ...(mm ?? {}), markers } };
}

/** What `drawOverlays` drew that tests look for. */
export interface OverlayDrawn {
  /** Body skeleton segments (pink). */
  skeletonLines: number;
}

export function drawOverlays(
  ctx: CanvasRenderingContext2D,
  rawResults: Record<string, unknown>,
  fit: Fit,
  opts: OverlayOptions,
): OverlayDrawn {
  let skeletonLines = 0;
  const results = withOverrides(rawResults, opts.overrides, opts.ns.markers);
  const px = (p: Point) => toCanvas(p, fit);
  ctx.save();
  ctx.lineWidth = 2;

  // Blobs: bounding box, centroid, name (unless a marker sits on it and shows its own).
  const markers = readMarkers(results, opts.ns.markers);
  const covered = new Set(markers.map((m) => m.blob).filter((b) => b !== null));
  for (const b of readBlobs(results, opts.ns.blobs)) {
    const c = px(b);
    ctx.strokeStyle = COLORS.blob;
    if (b.bbox) {
      const tl = px({ x: b.bbox.x, y: b.bbox.y });
      ctx.globalAlpha = 0.8;
      ctx.strokeRect(tl.x, tl.y, b.bbox.w * fit.scale, b.bbox.h * fit.scale);
      ctx.globalAlpha = 1;
    }
    ctx.beginPath();
    ctx.arc(c.x, c.y, 3, 0, Math.PI * 2);
    ctx.fillStyle = COLORS.blob;
    ctx.fill();
    if (!covered.has(b.id)) label(ctx, `blob_${b.id}`, c.x + 6, c.y - 6, COLORS.blob);
  }

  // Pose: body skeleton (pink) of every namespace with keypoints (`vision` usually), hands
  // (teal) of a `hands` result, angle labels at the joints.
  const segments = (lines: Segment[], color: string, width: number) => {
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    for (const l of lines) {
      const pa = px(l.a);
      const pb = px(l.b);
      ctx.beginPath();
      ctx.moveTo(pa.x, pa.y);
      ctx.lineTo(pb.x, pb.y);
      ctx.stroke();
    }
  };
  const dots = (points: Point[], color: string, r: number) => {
    ctx.fillStyle = color;
    for (const q of points) {
      const p = px(q);
      ctx.beginPath();
      ctx.arc(p.x, p.y, r, 0, Math.PI * 2);
      ctx.fill();
    }
  };
  const poseNs = Object.keys(results).filter((k) => k !== 'hands' && Array.isArray((results[k] as { keypoints?: unknown } | null)?.keypoints));
  const labels: AngleLabel[] = [];
  for (const ns of poseNs) {
    const d = poseDrawing(results, { pose: ns, hands: '' });
    segments(d.body.lines, POSE_COLORS.body, 3);
    skeletonLines += d.body.lines.length;
    dots(d.body.points, POSE_COLORS.body, 4);
    labels.push(...d.angles);
  }
  for (const h of readHands(results)) {
    segments(h.lines, POSE_COLORS.hand, 2);
    dots(h.points, POSE_COLORS.hand, 2.5);
  }
  for (const a of labels) {
    const p = px(a);
    label(ctx, a.text, p.x + 8, p.y - 8, POSE_COLORS.angle);
  }
  ctx.lineWidth = 2;

  // Geometry tools: lines, angle arcs, values.
  const points = namedPoints(results, opts.ns);
  for (const tool of readTools(results, opts.ns.geometry)) {
    const pts = tool.points.map((n) => points.get(n));
    if (pts.some((p) => !p)) continue;
    const cp = (pts as Point[]).map(px);
    const color = tool.color ?? COLORS.tool;
    ctx.strokeStyle = color;
    ctx.setLineDash(tool.valid ? [] : [6, 4]);
    ctx.beginPath();
    cp.forEach((p, i) => (i === 0 ? ctx.moveTo(p.x, p.y) : ctx.lineTo(p.x, p.y)));
    ctx.stroke();
    ctx.setLineDash([]);
    const text = `${tool.id} ${formatToolValue(tool.type, tool.value)}`;
    if (tool.type === 'angle' && cp.length === 3) {
      const [a, b, c] = cp as [Point, Point, Point];
      const arc = arcAt(a, b, c);
      ctx.beginPath();
      ctx.arc(b.x, b.y, 28, arc.start, arc.end, arc.anticlockwise);
      ctx.stroke();
      label(ctx, text, b.x + 32, b.y + 4, color);
    } else if (tool.type === 'line_angle' && cp.length >= 2) {
      const [a] = cp as [Point];
      ctx.setLineDash([4, 4]);
      ctx.beginPath();
      if (tool.reference === 'vertical') {
        ctx.moveTo(a.x, a.y - 60);
        ctx.lineTo(a.x, a.y + 60);
      } else {
        ctx.moveTo(a.x - 60, a.y);
        ctx.lineTo(a.x + 60, a.y);
      }
      ctx.stroke();
      ctx.setLineDash([]);
      label(ctx, text, a.x + 8, a.y - 10, color);
    } else if (cp.length >= 2) {
      const [a, b] = cp as [Point, Point];
      label(ctx, text, (a.x + b.x) / 2 + 6, (a.y + b.y) / 2 - 6, color);
    }
  }

  // Markers: a ring with the label; attached ones green, the selected one white.
  for (const m of markers) {
    const p = px(m);
    const color = m.id === opts.selectedMarker ? COLORS.selected : m.attached ? COLORS.markerAttached : COLORS.marker;
    ctx.strokeStyle = color;
    ctx.lineWidth = m.id === opts.selectedMarker ? 3 : 2;
    ctx.beginPath();
    ctx.arc(p.x, p.y, 7, 0, Math.PI * 2);
    ctx.stroke();
    ctx.beginPath();
    ctx.moveTo(p.x - 11, p.y);
    ctx.lineTo(p.x + 11, p.y);
    ctx.moveTo(p.x, p.y - 11);
    ctx.lineTo(p.x, p.y + 11);
    ctx.stroke();
    label(ctx, m.label, p.x + 10, p.y - 10, color);
  }
  ctx.lineWidth = 2;

  // Points picked for a new tool.
  opts.picked.forEach((name, i) => {
    const q = points.get(name);
    if (!q) return;
    const p = px(q);
    ctx.strokeStyle = COLORS.pick;
    ctx.beginPath();
    ctx.arc(p.x, p.y, 12, 0, Math.PI * 2);
    ctx.stroke();
    label(ctx, String(i + 1), p.x - 4, p.y - 16, COLORS.pick);
  });
  ctx.restore();
  return { skeletonLines };
}
