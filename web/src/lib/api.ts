/**
 * REST reads (`/api/v1/...`). These shapes are not part of the generated protocol types, so
 * only the fields the UI uses are declared, and every one is treated as optional.
 */
import type { JsonSchema } from './schema';

export interface CommandInfo {
  name: string;
  description?: string;
  args_schema?: JsonSchema | null;
  locked_while_recording?: boolean;
}

export interface PluginManifest {
  id: string;
  version?: string;
  description?: string;
  namespace?: string | null;
  params_schema?: JsonSchema | null;
  commands?: CommandInfo[];
}

export interface SourceConfig {
  id: string;
  kind: string;
  edge?: unknown;
  params?: Record<string, unknown>;
}

export interface StageConfig {
  id?: string | null;
  plugin: string;
  source?: string | null;
  namespace?: string | null;
  enabled?: boolean;
  params?: Record<string, unknown>;
}

export interface EffectiveConfig {
  runtime?: unknown;
  sources?: SourceConfig[];
  stages?: StageConfig[];
  server?: unknown;
}

/** A stage instance as the UI shows it. */
export interface StageView {
  id: string;
  plugin: string;
  namespace: string;
  source: string | null;
  manifest: PluginManifest | null;
  configParams: Record<string, unknown>;
}

export async function getJson<T>(path: string, fetchFn: typeof fetch = fetch): Promise<T> {
  const res = await fetchFn(path, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/**
 * Stage manifests from `GET /api/v1/plugins`: an array of manifests, or an object whose
 * `stages` holds them (beside `sources` and `instances`).
 */
export function manifestsFrom(body: unknown): PluginManifest[] {
  const list = Array.isArray(body)
    ? body
    : typeof body === 'object' && body !== null && Array.isArray((body as { stages?: unknown }).stages)
      ? (body as { stages: unknown[] }).stages
      : [];
  return list.filter(
    (m): m is PluginManifest => typeof m === 'object' && m !== null && typeof (m as { id?: unknown }).id === 'string',
  );
}

/** Stage instances of a config joined with their plugin manifests. */
export function stageViews(config: EffectiveConfig | null, plugins: PluginManifest[]): StageView[] {
  const byId = new Map(plugins.map((p) => [p.id, p]));
  return (config?.stages ?? []).map((s) => {
    const manifest = byId.get(s.plugin) ?? null;
    const id = s.id ?? s.plugin;
    return {
      id,
      plugin: s.plugin,
      namespace: s.namespace ?? manifest?.namespace ?? id,
      source: s.source ?? null,
      manifest,
      configParams: s.params ?? {},
    };
  });
}

/** Sources fed by the browser (`kind == "browser"`). */
export function browserSources(config: EffectiveConfig | null): SourceConfig[] {
  return (config?.sources ?? []).filter((s) => s.kind === 'browser');
}

/** `ws://host/ws/ingest/{id}` for the page's own origin. */
export function ingestUrl(sourceId: string, loc: { protocol: string; host: string } = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws/ingest/${encodeURIComponent(sourceId)}`;
}
