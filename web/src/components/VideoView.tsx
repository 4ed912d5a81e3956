import { useEffect, useRef, useState } from 'react';
import { useApp, useInteraction, useUi } from '../context';
import { drawOverlays } from '../lib/draw';
import { drawBilliards } from '../lib/drawBilliards';
import { fitFrame, nearest, toCanvas, toFrame, type Fit } from '../lib/geometry';
import { freshId } from '../lib/interaction';
import { namedPoints, readMarkers, type Point } from '../lib/results';
import { useVideoFrames } from './useVideoFrames';

const HIT_RADIUS_PX = 14;
const MOVE_SEND_MS = 50;

/** The live video with overlays; click to add markers, drag to move them, pick tool points. */
export function VideoView() {
  const { model, interaction } = useApp();
  const ui = useUi();
  const ix = useInteraction();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const video = useVideoFrames(model.client);
  const fitRef = useRef<Fit>({ scale: 1, offsetX: 0, offsetY: 0 });
  const [hasVideo, setHasVideo] = useState(false);
  const dragRef = useRef<{ id: string; moved: boolean; lastSent: number; timer: ReturnType<typeof setTimeout> | null } | null>(null);
  const downRef = useRef<Point | null>(null);
  const cornerDragRef = useRef<number | null>(null);

  // Frame size for overlay coordinates: the snapshot's frame size, else the source's
  // configured size, else the video's (the preview may be downscaled).
  const src = (ui.config?.sources ?? []).find((s) => s.id === ui.snapshot?.source) ?? ui.config?.sources?.[0];
  const cfgW = Number(src?.params?.width);
  const cfgH = Number(src?.params?.height);
  const snapW = ui.snapshot?.width ?? 0;
  const snapH = ui.snapshot?.height ?? 0;
  const configured =
    snapW > 0 && snapH > 0
      ? { w: snapW, h: snapH }
      : Number.isFinite(cfgW) && Number.isFinite(cfgH) && cfgW > 0 && cfgH > 0
        ? { w: cfgW, h: cfgH }
        : null;
  const configuredRef = useRef(configured);
  configuredRef.current = configured;

  // Draw loop at display rate.
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    let raf = 0;
    let sawVideo = false;
    const draw = () => {
      raf = requestAnimationFrame(draw);
      const dpr = window.devicePixelRatio || 1;
      const cw = canvas.clientWidth;
      const ch = canvas.clientHeight;
      if (canvas.width !== Math.round(cw * dpr) || canvas.height !== Math.round(ch * dpr)) {
        canvas.width = Math.round(cw * dpr);
        canvas.height = Math.round(ch * dpr);
      }
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.fillStyle = '#07090c';
      ctx.fillRect(0, 0, cw, ch);
      const frame = video.current;
      const size = configuredRef.current ?? (frame ? { w: frame.width, h: frame.height } : null);
      if (!size) return;
      const fit = fitFrame(size.w, size.h, cw, ch);
      fitRef.current = fit;
      if (frame) {
        ctx.drawImage(frame.bitmap, fit.offsetX, fit.offsetY, size.w * fit.scale, size.h * fit.scale);
        if (!sawVideo) {
          sawVideo = true;
          setHasVideo(true);
        }
        canvas.dataset.frameId = String(frame.frameId);
      }
      const ix = interaction.getState();
      const exact = ix.lockToVideo && frame ? model.frames.get(frame.cameraId, frame.frameId) : undefined;
      const results = exact ?? model.overlay.sample(performance.now())?.value;
      canvas.dataset.overlay = exact ? 'video-frame' : 'interpolated';
      let skeletonLines = 0;
      if (results) {
        ({ skeletonLines } = drawOverlays(ctx, results, fit, {
          selectedMarker: ix.selectedMarker,
          picked: ix.mode.kind === 'pick' ? ix.mode.picked : [],
          overrides: interaction.overrides,
          ns: model.tools().ns,
        }));
      }
      // Body skeleton segments drawn on this frame (pink), for tests.
      canvas.dataset.skeleton = String(skeletonLines);
      // Billiards: what was drawn goes into data attributes (ball ids, paths) for tests.
      const drawn = drawBilliards(ctx, results ?? {}, fit, ix.calibration);
      if (drawn) {
        canvas.dataset.balls = drawn.balls.join(' ');
        canvas.dataset.paths = String(drawn.paths);
        canvas.dataset.cue = String(drawn.cue);
      }
    };
    raf = requestAnimationFrame(draw);
    return () => cancelAnimationFrame(raf);
  }, [model, interaction, video]);

  const latestResults = () => model.overlay.current ?? {};
  const eventPoint = (e: React.PointerEvent): Point => {
    const r = (e.target as HTMLCanvasElement).getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  const markerAt = (p: Point): string | null => {
    const fit = fitRef.current;
    const { ns } = model.tools();
    const markers = readMarkers(latestResults(), ns.markers).map((m) => [m.id, toCanvas(interaction.overrides.get(m.id) ?? m, fit)] as [string, Point]);
    return nearest(p, markers, HIT_RADIUS_PX);
  };

  const addMarkerAt = async (p: Point): Promise<string | null> => {
    const { markers, ns } = model.tools();
    const fp = toFrame(p, fitRef.current);
    const taken = [...readMarkers(latestResults(), ns.markers).map((m) => m.id), ...interaction.reservedIds];
    const id = freshId('m', taken);
    interaction.reservedIds.add(id);
    interaction.overrides.set(id, fp);
    const args: Record<string, unknown> = { id, x: round1(fp.x), y: round1(fp.y) };
    if (interaction.getState().attachNew) args.attach = true;
    try {
      await model.command(markers, 'add_marker', args);
      interaction.select(id);
      return id;
    } catch {
      return null;
    } finally {
      interaction.reservedIds.delete(id);
      settleOverride(id);
    }
  };

  // Drop a local position once the server's results show the marker (or after a while).
  const settleOverride = (id: string) => {
    const started = performance.now();
    const check = () => {
      const seen = readMarkers(latestResults(), model.tools().ns.markers).some((m) => m.id === id);
      if (seen || performance.now() - started > 1500) interaction.overrides.delete(id);
      else setTimeout(check, 50);
    };
    setTimeout(check, 50);
  };

  const sendMove = (id: string, final: boolean) => {
    const d = dragRef.current;
    const p = interaction.overrides.get(id);
    if (!p) return;
    const now = performance.now();
    if (!final && d && now - d.lastSent < MOVE_SEND_MS) {
      if (!d.timer) d.timer = setTimeout(() => { if (dragRef.current) { dragRef.current.timer = null; sendMove(id, false); } }, MOVE_SEND_MS);
      return;
    }
    if (d) d.lastSent = now;
    const { markers } = model.tools();
    const done = model.command(markers, 'move_marker', { id, x: round1(p.x), y: round1(p.y) }).catch(() => {});
    if (final) void done.then(() => settleOverride(id));
  };

  const onPointerDown = (e: React.PointerEvent<HTMLCanvasElement>) => {
    if (e.button !== 0) return;
    const p = eventPoint(e);
    downRef.current = p;
    (e.target as HTMLCanvasElement).focus();
    if (ix.calibration) {
      const fit = fitRef.current;
      const hit = nearest(p, ix.calibration.map((c, i) => [String(i), toCanvas(c, fit)] as [string, Point]), HIT_RADIUS_PX);
      if (hit !== null) {
        cornerDragRef.current = Number(hit);
        (e.target as HTMLCanvasElement).setPointerCapture(e.pointerId);
      }
      return;
    }
    if (ix.mode.kind === 'pick') return;
    const hit = markerAt(p);
    if (hit) {
      interaction.select(hit);
      dragRef.current = { id: hit, moved: false, lastSent: 0, timer: null };
      (e.target as HTMLCanvasElement).setPointerCapture(e.pointerId);
    }
  };

  const onPointerMove = (e: React.PointerEvent<HTMLCanvasElement>) => {
    if (cornerDragRef.current !== null) {
      interaction.moveCorner(cornerDragRef.current, toFrame(eventPoint(e), fitRef.current));
      return;
    }
    const d = dragRef.current;
    if (!d) return;
    const p = eventPoint(e);
    const down = downRef.current;
    if (!d.moved && down && Math.hypot(p.x - down.x, p.y - down.y) < 3) return;
    d.moved = true;
    interaction.overrides.set(d.id, toFrame(p, fitRef.current));
    sendMove(d.id, false);
  };

  const onPointerUp = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const p = eventPoint(e);
    if (ix.calibration) {
      const down = downRef.current;
      downRef.current = null;
      const dragged = cornerDragRef.current !== null;
      cornerDragRef.current = null;
      if (!dragged && down && Math.hypot(p.x - down.x, p.y - down.y) <= 5) interaction.addCorner(toFrame(p, fitRef.current));
      return;
    }
    const d = dragRef.current;
    dragRef.current = null;
    if (d) {
      if (d.timer) clearTimeout(d.timer);
      if (d.moved) sendMove(d.id, true);
      return;
    }
    const down = downRef.current;
    downRef.current = null;
    if (!down || Math.hypot(p.x - down.x, p.y - down.y) > 5) return;
    void onClick(p);
  };

  const onClick = async (p: Point) => {
    if (ix.mode.kind === 'pick') {
      const fit = fitRef.current;
      const named = [...namedPoints(latestResults(), model.tools().ns)].map(([n, q]) => [n, toCanvas(q, fit)] as [string, Point]);
      const name = nearest(p, named, HIT_RADIUS_PX) ?? (await addMarkerAt(p));
      if (!name) return;
      const points = interaction.pick(name);
      if (points && ix.mode.kind === 'pick') await createTool(ix.mode.tool, points);
      return;
    }
    await addMarkerAt(p);
  };

  const createTool = async (type: string, points: string[]) => {
    const { geometry, ns } = model.tools();
    const existing = Object.keys((latestResults()[ns.geometry] as Record<string, unknown> | undefined) ?? {});
    const id = freshId(`${type}_`, existing);
    const args: Record<string, unknown> = { id, type, points };
    if (type === 'line_angle') args.reference = 'horizontal';
    try {
      await model.command(geometry, 'cmd_add_tool', args);
      model.toast('info', `Added ${type.replace('_', ' ')} ${id}`, points.join(' – '));
    } catch {
      /* reported by model.command */
    }
  };

  const onKeyDown = (e: React.KeyboardEvent) => {
    if (e.key === 'Escape') {
      interaction.cancel();
      interaction.select(null);
    } else if ((e.key === 'Delete' || e.key === 'Backspace') && ix.selectedMarker) {
      const id = ix.selectedMarker;
      interaction.select(null);
      model.command(model.tools().markers, 'remove_marker', { id }).catch(() => {});
    }
  };

  const hint = ix.calibration
    ? ix.calibration.length < 4
      ? `Calibration: click corner ${ix.calibration.length + 1} of 4 of the playing area (from the origin corner along the long side).`
      : 'Calibration: drag a corner to adjust it, then Save in the Billiards panel.'
    : ix.mode.kind === 'pick'
      ? `${ix.mode.tool.replace('_', ' ')}: pick point ${ix.mode.picked.length + 1} of ${ix.mode.needed}` +
        (ix.mode.tool === 'angle' && ix.mode.picked.length === 1 ? ' (the vertex)' : '') +
        ' — click a marker, blob or keypoint, or empty space for a new marker. Esc cancels.'
      : 'Click to add a marker, drag one to move it; Delete removes the selected marker, Esc deselects.';

  return (
    <div className="video-wrap">
      <canvas
        ref={canvasRef}
        className={`video-canvas ${ix.mode.kind === 'pick' ? 'picking' : ''}`}
        data-testid="video-canvas"
        tabIndex={0}
        role="img"
        aria-label="Live video with overlays"
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onKeyDown={onKeyDown}
      />
      {!hasVideo && (
        <div className="video-empty" data-testid="video-empty">
          {ui.connection.state === 'open' ? 'Waiting for video…' : 'Connecting to framebus…'}
        </div>
      )}
      <div className={`video-hint ${ix.mode.kind === 'pick' || ix.calibration ? 'active' : ''}`} data-testid="video-hint" aria-live="polite">
        {hint}
        {ix.mode.kind === 'pick' && (
          <button type="button" className="link" onClick={() => interaction.cancel()}>
            cancel
          </button>
        )}
      </div>
      <div className="video-info" data-testid="video-info">
        <span>
          {video.size && `${video.size.w}×${video.size.h}`} {video.fps > 0 && `· ${video.fps.toFixed(0)} fps video`}
        </span>
        <label className="check" title="On: overlays show the results of the video frame on screen. Off: overlays blend the last two results, smooth at display rate.">
          <input type="checkbox" data-testid="toggle-lock-video" checked={ix.lockToVideo} onChange={(e) => interaction.setLockToVideo(e.target.checked)} />
          overlays locked to video
        </label>
      </div>
    </div>
  );
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
