#!/usr/bin/env node
// Dev-only stand-in for `framebus demo`: same CLI line, REST shapes, /ws/stream snapshots,
// binary JPEG video and commands (with the recording lock), over a synthetic scene of moving
// bright blobs. Serves web/dist at `/`. Usage: node dev/mock-server.mjs demo --bind 127.0.0.1:8090
// It exists to work on the UI without building the Rust server; the e2e runs the real binary.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import { WebSocketServer } from 'ws';

const args = process.argv.slice(2);
const bindArg = args[args.indexOf('--bind') + 1] ?? '127.0.0.1:8090';
const [host, portText] = bindArg.split(':');
const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const W = 320, H = 240;

const manifest = (id, namespace, props, commands = []) => ({
  id, version: '0.0.0-mock', description: `${id} (mock)`, namespace,
  params_schema: { type: 'object', properties: props }, commands,
});
const plugins = [
  manifest('blob_detection', null, {
    threshold: { type: 'integer', minimum: 0, maximum: 255, default: 200, description: 'Gray level separating blobs from the background.' },
    invert: { type: 'boolean', default: false, description: 'Find dark blobs.' },
    min_area: { type: 'integer', minimum: 1, maximum: 1000000, default: 10 },
    max_blobs: { type: 'integer', minimum: 1, maximum: 1024, default: 64 },
  }),
  manifest('marker_manager', null, { attach_radius: { type: 'number', minimum: 1, maximum: 400, default: 40 } }),
  manifest('geometry_manager', 'geometry', { window_s: { type: 'number', minimum: 0.1, maximum: 60, default: 2 } }),
  manifest('camera_control', 'camera_control', {
    exposure: { type: 'number', minimum: 1, maximum: 1000, default: 157 },
    gain: { type: 'number', minimum: 0, maximum: 24, default: 0 },
    auto_exposure: { type: 'boolean', default: false },
  }),
];
const params = {
  blob_detection: { threshold: 200, invert: false, min_area: 10, max_blobs: 64 },
  marker_manager: { attach_radius: 40 },
  geometry_manager: { window_s: 2 },
  camera_control: { exposure: 157, gain: 0, auto_exposure: false },
};
const camera = { exposure: 157, gain: 0, auto_exposure: false };
const config = {
  runtime: {},
  sources: [{ id: 'camera_0', kind: 'synthetic', edge: 'latest', params: { width: W, height: H } }, ...(process.env.MOCK_BROWSER ? [{ id: 'webcam', kind: 'browser', params: {} }] : [])],
  stages: Object.keys(params).map((plugin) => ({ plugin, enabled: true, params: params[plugin] })),
  server: {},
};
let state = 'running';
let frameId = 0, sequence = 0;
const markers = new Map();
const tools = new Map();

// The scene: spots of different brightness, so the threshold changes how many are found.
function scene(t) {
  return [0, 1, 2, 3, 4].map((i) => ({
    x: W * (0.2 + 0.15 * i) + 20 * Math.sin(t * 1.3 + i),
    y: H * 0.5 + 50 * Math.cos(t * 0.9 + i * 1.7),
    r: 9 + i,
    level: 120 + i * 30,
  }));
}
function detect(spots) {
  const thr = params.blob_detection.threshold;
  const gainK = (camera.exposure / 157) * 10 ** (camera.gain / 20);
  return spots
    .filter((s) => Math.min(255, s.level * gainK) >= thr)
    .sort((a, b) => a.y - b.y || a.x - b.x)
    .map((s, id) => ({ id, x: s.x, y: s.y, area: Math.round(Math.PI * s.r * s.r), bbox: { x: Math.round(s.x - s.r), y: Math.round(s.y - s.r), w: 2 * s.r, h: 2 * s.r } }));
}
function render(spots) {
  const data = Buffer.alloc(W * H * 4);
  const gainK = (camera.exposure / 157) * 10 ** (camera.gain / 20);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    let v = 30 + ((x ^ y) & 8);
    for (const s of spots) if ((x - s.x) ** 2 + (y - s.y) ** 2 <= s.r * s.r) v = s.level;
    v = Math.min(255, v * gainK);
    const o = (y * W + x) * 4;
    data[o] = v; data[o + 1] = v; data[o + 2] = v * 0.9; data[o + 3] = 255;
  }
  return jpeg.encode({ data, width: W, height: H }, 70).data;
}
function point(name, blobs) {
  const m = markers.get(name) ?? [...markers.values()].find((m) => m.label === name);
  if (m) return m;
  const b = /^blob_(\d+)$/.exec(name);
  return b ? blobs[Number(b[1])] : undefined;
}
function measure(tool, blobs) {
  const p = tool.points.map((n) => point(n, blobs));
  if (p.some((q) => !q)) return null;
  if (tool.type === 'distance') return Math.hypot(p[1].x - p[0].x, p[1].y - p[0].y);
  if (tool.type === 'line_angle') return (Math.atan2(p[0].y - p[1].y, p[1].x - p[0].x) * 180) / Math.PI;
  const a1 = Math.atan2(p[0].y - p[1].y, p[0].x - p[1].x), a2 = Math.atan2(p[2].y - p[1].y, p[2].x - p[1].x);
  let d = Math.abs(a1 - a2) * 180 / Math.PI;
  return d > 180 ? 360 - d : d;
}

const clients = new Set();
const t0 = Date.now();
setInterval(() => {
  if (state === 'paused') return;
  const t = (Date.now() - t0) / 1000;
  const spots = scene(t);
  const blobs = detect(spots);
  for (const m of markers.values()) {
    if (!m.attached) continue;
    const near = blobs.map((b) => [b, Math.hypot(b.x - m.x, b.y - m.y)]).filter(([, d]) => d < params.marker_manager.attach_radius).sort((a, b) => a[1] - b[1])[0];
    m.blob = near ? near[0].id : null;
    if (near) { m.x = near[0].x; m.y = near[0].y; }
  }
  const geometry = {};
  for (const tool of tools.values()) {
    const v = measure(tool, blobs);
    if (v !== null) { tool.min = Math.min(tool.min ?? v, v); tool.max = Math.max(tool.max ?? v, v); }
    geometry[tool.id] = { type: tool.type, points: tool.points, value: v, valid: v !== null, color: tool.color ?? '#fbbf24', min: tool.min ?? null, max: tool.max ?? null, mean: v, reference: tool.reference ?? null };
  }
  frameId++;
  const snap = {
    type: 'snapshot', frame_id: frameId, camera_id: 0, source: 'camera_0', width: 640, height: 480, t_ns: (Date.now() - t0) * 1e6, sequence: ++sequence, fps: 30, state,
    results: {
      blob_detection: { blobs, count: blobs.length, params: params.blob_detection },
      marker_manager: { markers: Object.fromEntries([...markers].map(([id, m]) => [id, { x: m.x, y: m.y, label: m.label, attached: m.attached, blob: m.blob ?? null }])) },
      geometry,
      camera_control: camera,
    },
    signals: { blob_count: blobs.length }, widgets: [], notifications: [],
    active_plugins: Object.keys(params).map((id, i) => ({ id, performance_ms: 0.2 + i * 0.1 + Math.random() * 0.1, enabled: true })),
    errors: [], dropped: { 'camera_0→pipeline': 0 },
  };
  const text = JSON.stringify(snap);
  const video = frameId % 2 === 0 ? render(spots) : null;
  for (const c of clients) {
    if (c.streams.has('state')) c.ws.send(text);
    if (video && c.streams.has('video')) {
      const head = Buffer.alloc(20);
      head.write('FBV1', 0, 'latin1'); head.writeBigUInt64LE(BigInt(frameId), 4); head.writeUInt32LE(0, 12); head.writeUInt16LE(W, 16); head.writeUInt16LE(H, 18);
      c.ws.send(Buffer.concat([head, video]));
    }
  }
}, 33);

function broadcast(msg) {
  const text = JSON.stringify(msg);
  for (const c of clients) if (c.streams.has('events')) c.ws.send(text);
}
function setState(to) {
  const from = state;
  state = to;
  broadcast({ type: 'state_changed', from, to });
  return { state };
}
class CmdError extends Error { constructor(code, message) { super(message); this.code = code; } }
function run(target, cmd, a) {
  if (target === 'pipeline') {
    if (cmd === 'run') return setState('running');
    if (cmd === 'pause') return setState('paused');
    if (cmd === 'record') return setState('recording');
    if (cmd === 'stop_recording') return setState('running');
    if (cmd === 'enable_stage' || cmd === 'disable_stage') return { stage: a.stage };
    throw new CmdError('unknown_command', `pipeline has no command ${cmd}`);
  }
  if (target === 'camera_0') {
    if (cmd === 'get_params') return camera;
    if (cmd === 'set_params') { if (state === 'recording') throw new CmdError('busy', 'parameters are locked while recording'); Object.assign(camera, a); return camera; }
  }
  if (!(target in params)) throw new CmdError('unknown_target', `no stage or source named ${target}`);
  if (cmd === 'get_params') return params[target];
  if (cmd === 'set_params') {
    if (state === 'recording') throw new CmdError('busy', 'parameters are locked while recording');
    for (const k of Object.keys(a)) if (!(k in params[target])) throw new CmdError('bad_args', `unknown field \`${k}\``);
    Object.assign(params[target], a);
    if (target === 'camera_control') Object.assign(camera, a);
    return params[target];
  }
  if (cmd === 'reset') return params[target];
  if (target === 'marker_manager') {
    if (cmd === 'add_marker') { const id = a.id ?? `m${markers.size + 1}`; const m = { id, x: a.x, y: a.y, label: a.label ?? id, attached: !!a.attach, blob: null }; markers.set(id, m); return m; }
    const m = markers.get(a.id);
    if (cmd === 'clear_markers') { const removed = markers.size; markers.clear(); return { removed }; }
    if (!m) throw new CmdError('bad_args', `no marker ${a.id}`);
    if (cmd === 'move_marker') { m.x = a.x; m.y = a.y; return m; }
    if (cmd === 'remove_marker') { markers.delete(a.id); return m; }
    if (cmd === 'label_marker') { m.label = a.label; return m; }
    if (cmd === 'attach_marker') { m.attached = true; return m; }
    if (cmd === 'detach_marker') { m.attached = false; m.blob = null; return m; }
  }
  if (target === 'geometry_manager') {
    if (cmd === 'cmd_add_tool') { const need = a.type === 'angle' ? 3 : 2; if (!Array.isArray(a.points) || a.points.length !== need) throw new CmdError('bad_args', `${a.type} takes ${need} points`); tools.set(a.id, { ...a }); return a; }
    if (cmd === 'cmd_remove_tool') { tools.delete(a.id); return { id: a.id }; }
    if (cmd === 'cmd_update_tool') { Object.assign(tools.get(a.id) ?? {}, a, { min: undefined, max: undefined }); return a; }
    if (cmd === 'clear_window') { for (const tl of tools.values()) if (!a.id || tl.id === a.id) { tl.min = tl.max = undefined; } return {}; }
  }
  throw new CmdError('unknown_command', `${target} has no command ${cmd}`);
}

const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const json = (v) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify(v)); };
  if (url.pathname === '/api/v1/plugins') return json(plugins);
  if (url.pathname === '/api/v1/config') return json(config);
  if (url.pathname === '/api/v1/pipeline') return json({ state, sequence, sources: [] });
  if (url.pathname.startsWith('/api/')) { res.writeHead(404); return res.end('not found'); }
  let path = normalize(url.pathname).replace(/^\/+/, '') || 'index.html';
  try {
    const body = await readFile(join(dist, path)).catch(() => { path = 'index.html'; return readFile(join(dist, 'index.html')); });
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404); res.end('web/dist missing: run npm run build');
  }
});
const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (path === '/ws/stream' || path.startsWith('/ws/ingest/')) wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, path));
  else socket.destroy();
});
wss.on('connection', (ws, path) => {
  if (path.startsWith('/ws/ingest/')) { ws.on('message', () => {}); return; }
  const client = { ws, streams: new Set() };
  clients.add(client);
  ws.on('close', () => clients.delete(client));
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    let m;
    try { m = JSON.parse(String(data)); } catch { return ws.send(JSON.stringify({ type: 'error', id: null, code: 'bad_message', message: 'not JSON' })); }
    if (m.type === 'subscribe') { client.streams = new Set(m.streams); return; }
    if (m.type === 'ping') return ws.send(JSON.stringify({ type: 'pong', id: m.id ?? null }));
    const id = m.id ?? null;
    try {
      const result = run(m.target, m.payload?.cmd, m.payload?.args ?? {});
      ws.send(JSON.stringify({ type: 'ack', id, target: m.target, cmd: m.payload?.cmd, result }));
    } catch (e) {
      ws.send(JSON.stringify({ type: 'error', id, code: e.code ?? 'internal', message: e.message }));
    }
  });
});
server.listen(Number(portText), host, () => {
  const a = server.address();
  console.log(`listening on http://${a.address}:${a.port}`);
});
const stop = () => { for (const c of clients) c.ws.terminate(); server.close(() => process.exit(0)); setTimeout(() => process.exit(0), 500).unref(); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
