/**
 * The billiards overlay on a 2D canvas: the playing area and pockets, each tracked ball's
 * circle and id, the cue line and its aim, the predicted paths with their collision points
 * and the pockets balls are predicted to drop into, and the corners of a calibration being
 * edited. Returns what it drew (for the canvas' data attributes the e2e reads).
 */
import { toCanvas, type Fit } from './geometry';
import { billiardsDrawing, type BilliardsDrawing } from './billiards';
import type { Point } from './results';

export const BILLIARDS_COLORS = {
  table: 'rgba(255, 255, 255, 0.35)',
  ball: '#f7fafc',
  ballMoving: '#fbd38d',
  cue: '#f6e05e',
  aim: 'rgba(246, 224, 94, 0.6)',
  /** Predicted paths: a pure magenta that no ball or felt shows (the e2e counts it). */
  path: '#ff00ff',
  collision: '#ffffff',
  pocket: '#68d391',
  calibration: '#63b3ed',
  text: '#f7fafc',
};

export interface BilliardsSummary {
  /** Ids of the balls drawn. */
  balls: string[];
  /** Predicted paths drawn. */
  paths: number;
  cue: boolean;
}

function tag(ctx: CanvasRenderingContext2D, text: string, x: number, y: number, color: string): void {
  ctx.font = 'bold 11px ui-sans-serif, system-ui, sans-serif';
  const w = ctx.measureText(text).width;
  ctx.fillStyle = 'rgba(10, 12, 16, 0.7)';
  ctx.fillRect(x - 2, y - 10, w + 4, 13);
  ctx.fillStyle = color;
  ctx.fillText(text, x, y);
}

/** Draws `d` (frame pixels) mapped by `fit`. */
export function drawBilliardsDrawing(
  ctx: CanvasRenderingContext2D,
  d: BilliardsDrawing,
  fit: Fit,
  calibration: Point[] | null,
): BilliardsSummary {
  const px = (p: Point) => toCanvas(p, fit);
  const summary: BilliardsSummary = { balls: [], paths: 0, cue: false };
  ctx.save();
  ctx.lineJoin = 'round';
  ctx.lineCap = 'round';
  if (d.table && !calibration) {
    ctx.strokeStyle = BILLIARDS_COLORS.table;
    ctx.lineWidth = 1;
    ctx.setLineDash([6, 6]);
    ctx.beginPath();
    d.table.corners.forEach((c, i) => {
      const p = px(c);
      if (i === 0) ctx.moveTo(p.x, p.y);
      else ctx.lineTo(p.x, p.y);
    });
    ctx.closePath();
    ctx.stroke();
    ctx.setLineDash([]);
  }
  const r = (d.table?.ballRadiusPx ?? 10) * fit.scale;

  // Predicted paths under the balls, collision points and the target pockets.
  ctx.strokeStyle = BILLIARDS_COLORS.path;
  ctx.lineWidth = 2;
  for (const path of d.paths) {
    ctx.beginPath();
    path.points.forEach((q, i) => {
      const p = px(q);
      if (i === 0) ctx.moveTo(p.x, p.y);
      else ctx.lineTo(p.x, p.y);
    });
    ctx.stroke();
    summary.paths++;
  }
  ctx.strokeStyle = BILLIARDS_COLORS.collision;
  ctx.lineWidth = 1.5;
  for (const c of d.collisions) {
    const p = px(c.at);
    ctx.beginPath();
    ctx.arc(p.x, p.y, Math.max(3, r * 0.9), 0, Math.PI * 2);
    ctx.stroke();
  }
  ctx.strokeStyle = BILLIARDS_COLORS.pocket;
  ctx.lineWidth = 3;
  for (const k of d.pockets) {
    const p = px(k.at);
    ctx.beginPath();
    ctx.arc(p.x, p.y, Math.max(6, r * 1.8), 0, Math.PI * 2);
    ctx.stroke();
    tag(ctx, k.label, p.x + r * 2, p.y - r * 2, BILLIARDS_COLORS.pocket);
  }

  // The cue and its aim.
  if (d.cue) {
    const tip = px(d.cue.tip);
    const butt = px(d.cue.butt);
    const aim = px(d.cue.aimEnd);
    ctx.strokeStyle = BILLIARDS_COLORS.cue;
    ctx.lineWidth = 3;
    ctx.beginPath();
    ctx.moveTo(butt.x, butt.y);
    ctx.lineTo(tip.x, tip.y);
    ctx.stroke();
    ctx.strokeStyle = BILLIARDS_COLORS.aim;
    ctx.lineWidth = 1;
    ctx.setLineDash([4, 5]);
    ctx.beginPath();
    ctx.moveTo(tip.x, tip.y);
    ctx.lineTo(aim.x, aim.y);
    ctx.stroke();
    ctx.setLineDash([]);
    summary.cue = true;
  }

  // Balls: a ring and the id.
  ctx.lineWidth = 1.5;
  for (const b of d.balls) {
    const p = px(b.at);
    const color = b.atRest ? BILLIARDS_COLORS.ball : BILLIARDS_COLORS.ballMoving;
    ctx.strokeStyle = color;
    ctx.beginPath();
    ctx.arc(p.x, p.y, r + 1.5, 0, Math.PI * 2);
    ctx.stroke();
    tag(ctx, b.id, p.x + r * 0.8, p.y - r * 0.8, color);
    summary.balls.push(b.id);
  }

  // A calibration being edited: numbered corner handles joined in order.
  if (calibration) {
    ctx.strokeStyle = BILLIARDS_COLORS.calibration;
    ctx.lineWidth = 2;
    ctx.beginPath();
    calibration.forEach((c, i) => {
      const p = px(c);
      if (i === 0) ctx.moveTo(p.x, p.y);
      else ctx.lineTo(p.x, p.y);
    });
    if (calibration.length === 4) ctx.closePath();
    ctx.stroke();
    calibration.forEach((c, i) => {
      const p = px(c);
      ctx.beginPath();
      ctx.arc(p.x, p.y, 8, 0, Math.PI * 2);
      ctx.stroke();
      tag(ctx, String(i + 1), p.x + 10, p.y - 10, BILLIARDS_COLORS.calibration);
    });
  }
  ctx.restore();
  return summary;
}

/** Reads the billiards results and draws them; null when there is no billiards table. */
export function drawBilliards(
  ctx: CanvasRenderingContext2D,
  results: Record<string, unknown>,
  fit: Fit,
  calibration: Point[] | null,
): BilliardsSummary | null {
  if (!('table_detection' in results) && !calibration) return null;
  return drawBilliardsDrawing(ctx, billiardsDrawing(results), fit, calibration);
}
