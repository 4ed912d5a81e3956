import { useEffect, useMemo, useState } from 'react';
import type { FramebusClient } from '../lib/client';
import type { VideoFrame } from '../lib/video';

export interface DecodedFrame {
  frameId: number;
  cameraId: number;
  width: number;
  height: number;
  bitmap: ImageBitmap;
}

export interface VideoFrames {
  /** The newest decoded frame (read by the draw loop, not rendered by React). */
  current: DecodedFrame | null;
  size: { w: number; h: number } | null;
  fps: number;
}

/**
 * Decodes the binary video stream, latest wins: while one JPEG decodes, newer ones replace the
 * waiting one, so decoding never queues up behind the network.
 */
export function useVideoFrames(client: FramebusClient): VideoFrames {
  const holder = useMemo<VideoFrames>(() => ({ current: null, size: null, fps: 0 }), []);
  const [, setTick] = useState(0);
  useEffect(() => {
    let waiting: VideoFrame | null = null;
    let decoding = false;
    let alive = true;
    let count = 0;
    let windowStart = performance.now();
    const decode = async (f: VideoFrame) => {
      decoding = true;
      try {
        // Copy out of the message buffer: the Blob keeps its own bytes.
        const bitmap = await createImageBitmap(new Blob([f.jpeg.slice()], { type: 'image/jpeg' }));
        if (!alive) {
          bitmap.close();
          return;
        }
        const old = holder.current;
        holder.current = { frameId: f.frameId, cameraId: f.cameraId, width: bitmap.width, height: bitmap.height, bitmap };
        old?.bitmap.close();
        count++;
        const now = performance.now();
        const sizeChanged = !holder.size || holder.size.w !== bitmap.width || holder.size.h !== bitmap.height;
        if (sizeChanged) holder.size = { w: bitmap.width, h: bitmap.height };
        if (now - windowStart >= 1000 || sizeChanged) {
          holder.fps = (count * 1000) / Math.max(1, now - windowStart);
          count = 0;
          windowStart = now;
          setTick((t) => t + 1);
        }
      } catch {
        // A corrupt JPEG: skip it.
      } finally {
        decoding = false;
        const next = waiting;
        waiting = null;
        if (next && alive) void decode(next);
      }
    };
    const off = client.onVideo((f) => {
      if (decoding) waiting = f;
      else void decode(f);
    });
    return () => {
      alive = false;
      off();
    };
  }, [client, holder]);
  return holder;
}
