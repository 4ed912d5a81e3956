import { describe, expect, it } from 'vitest';
import { activeLine, clipTarget, formatBytes, formatDuration, recordingsView, type SessionView } from './recordings';

// Shaped as crates/server/src/rest/recordings.rs serialises them.
const recordings = {
  recordings_dir: 'recordings',
  active: { session: '20261201-101500', elapsed_s: 12.34, frames: 370, bytes: 1_234_567, dropped: 0 },
  sessions: [
    { name: '20261201-101500', bytes: 0, duration_s: 0, active: true, files: [] },
    {
      name: '20261201-100000',
      bytes: 2_500_000,
      duration_s: 3,
      active: false,
      files: [
        { name: 'camera_0.mp4', bytes: 2_400_000, content_type: 'video/mp4', url: '/api/v1/recordings/20261201-100000/camera_0.mp4', frames: 90, duration_s: 3 },
        { name: 'commands.jsonl', bytes: 120, content_type: 'application/x-ndjson', url: '/api/v1/recordings/20261201-100000/commands.jsonl' },
        { name: 'snapshots.jsonl', bytes: 99_880, content_type: 'application/x-ndjson', url: '/api/v1/recordings/20261201-100000/snapshots.jsonl' },
      ],
    },
    { name: 'broken', files: 'not a list' },
    { files: [] },
  ],
};
const clips = {
  clips: [
    {
      id: 'clip-000002',
      file: { name: 'clip-000002.mp4', bytes: 800_000, content_type: 'video/mp4', url: '/api/v1/clips/clip-000002.mp4', frames: 300, duration_s: 10 },
      meta: { source: 'camera_0', label: 'crank at top' },
    },
    { id: 'clip-000001', file: { name: 'clip-000001.mp4', bytes: 5, content_type: 'video/mp4', url: '/api/v1/clips/clip-000001.mp4' }, meta: null },
    { id: 'no-file' },
  ],
};

describe('formatting', () => {
  it('formats bytes in decimal units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1000)).toBe('1.00 kB');
    expect(formatBytes(1_234_567)).toBe('1.23 MB');
    expect(formatBytes(45_600_000)).toBe('45.6 MB');
    expect(formatBytes(999_000_000)).toBe('999 MB');
    expect(formatBytes(2e12)).toBe('2.00 TB');
    expect(formatBytes(-1)).toBe('—');
    expect(formatBytes(Number.NaN)).toBe('—');
  });

  it('formats durations', () => {
    expect(formatDuration(0)).toBe('0:00.0');
    expect(formatDuration(7.36)).toBe('0:07.3');
    expect(formatDuration(59.99)).toBe('0:59.9');
    expect(formatDuration(60)).toBe('1:00');
    expect(formatDuration(725.4)).toBe('12:05');
    expect(formatDuration(3723)).toBe('1:02:03');
    expect(formatDuration(-2)).toBe('—');
  });

  it('advances the elapsed clock of the recording in progress, not its size', () => {
    const a = { session: 's', elapsed_s: 12.34, frames: 370, bytes: 1_234_567, dropped: 0 };
    expect(activeLine(a)).toBe('● 0:12.3 · 1.23 MB · 370 frames');
    expect(activeLine(a, 50)).toBe('● 1:02 · 1.23 MB · 370 frames');
    expect(activeLine(a, -5)).toBe('● 0:12.3 · 1.23 MB · 370 frames');
    expect(activeLine({ ...a, dropped: 3 })).toContain('3 dropped');
  });
});

describe('recordingsView', () => {
  const v = recordingsView(recordings, clips);

  it('lists sessions newest first with their videos and other files', () => {
    expect(v.sessions.map((s) => s.name)).toEqual(['20261201-101500', '20261201-100000', 'broken']);
    const [live, done, broken] = v.sessions as [SessionView, SessionView, SessionView];
    expect(live.active).toBe(true);
    expect(live.summary).toBe('recording…');
    expect(live.videos).toEqual([]);
    expect(done.summary).toBe('0:03.0 · 2.50 MB');
    expect(done.videos).toEqual([
      {
        key: 'session:20261201-100000/camera_0.mp4',
        kind: 'session',
        title: 'camera_0',
        detail: '0:03.0 · 90 frames · 2.40 MB',
        url: '/api/v1/recordings/20261201-100000/camera_0.mp4',
        frames: 90,
        duration_s: 3,
      },
    ]);
    expect(done.others.map((o) => o.name)).toEqual(['commands.jsonl', 'snapshots.jsonl']);
    expect(broken.videos).toEqual([]);
  });

  it('lists clips with label and source, skipping entries without a file', () => {
    expect(v.clips.map((c) => c.key)).toEqual(['clip:clip-000002', 'clip:clip-000001']);
    expect(v.clips[0]!.title).toBe('crank at top');
    expect(v.clips[0]!.detail).toBe('camera_0 · 0:10.0 · 300 frames · 800 kB');
    expect(v.clips[1]!.title).toBe('clip-000001');
    expect(v.clips[1]!.duration_s).toBeNull();
  });

  it('keeps the recording in progress', () => {
    expect(v.active).toEqual(recordings.active);
    expect(recordingsView({ ...recordings, active: null }, clips).active).toBeNull();
  });

  it('puts the token on every download URL (a <video> cannot send a header)', () => {
    const t = recordingsView(recordings, clips, 'a b');
    expect(t.clips[0]!.url).toBe('/api/v1/clips/clip-000002.mp4?token=a%20b');
    expect(t.sessions[1]!.videos[0]!.url).toBe('/api/v1/recordings/20261201-100000/camera_0.mp4?token=a%20b');
    expect(t.sessions[1]!.others[0]!.url).toContain('?token=a%20b');
  });

  it('gives an empty model for failed or malformed bodies', () => {
    expect(recordingsView(null, null)).toEqual({ dir: '', active: null, clips: [], sessions: [] });
    expect(recordingsView({ sessions: 3 }, { clips: {} })).toEqual({ dir: '', active: null, clips: [], sessions: [] });
  });
});

describe('clipTarget', () => {
  const sources = [{ id: 'camera_0' }, { id: 'camera_1' }];
  it('keeps the chosen source while it exists, else the first', () => {
    expect(clipTarget(sources, 'camera_1')).toBe('camera_1');
    expect(clipTarget(sources, 'gone')).toBe('camera_0');
    expect(clipTarget(sources, null)).toBe('camera_0');
    expect(clipTarget([], 'camera_0')).toBeNull();
  });
});
