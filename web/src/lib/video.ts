/** Binary video preview messages (crates/protocol/src/video.rs): a 20-byte header and JPEG bytes. */

export const VIDEO_MAGIC = 'FBV1';
export const VIDEO_HEADER_LEN = 20;

export interface VideoFrame {
  frameId: number;
  cameraId: number;
  width: number;
  height: number;
  /** The JPEG bytes (a view into the message). */
  jpeg: Uint8Array;
}

/** Parses `b"FBV1"`, frame_id u64 LE, camera_id u32 LE, width u16 LE, height u16 LE, JPEG. */
export function parseVideoFrame(buf: ArrayBuffer): VideoFrame | null {
  if (buf.byteLength < VIDEO_HEADER_LEN) return null;
  const v = new DataView(buf);
  for (let i = 0; i < 4; i++) {
    if (v.getUint8(i) !== VIDEO_MAGIC.charCodeAt(i)) return null;
  }
  return {
    frameId: Number(v.getBigUint64(4, true)),
    cameraId: v.getUint32(12, true),
    width: v.getUint16(16, true),
    height: v.getUint16(18, true),
    jpeg: new Uint8Array(buf, VIDEO_HEADER_LEN),
  };
}

/** Builds a video message (used by tests and the dev mock server). */
export function encodeVideoFrame(f: Omit<VideoFrame, 'jpeg'>, jpeg: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(VIDEO_HEADER_LEN + jpeg.byteLength);
  const v = new DataView(out);
  for (let i = 0; i < 4; i++) v.setUint8(i, VIDEO_MAGIC.charCodeAt(i));
  v.setBigUint64(4, BigInt(f.frameId), true);
  v.setUint32(12, f.cameraId, true);
  v.setUint16(16, f.width, true);
  v.setUint16(18, f.height, true);
  new Uint8Array(out, VIDEO_HEADER_LEN).set(jpeg);
  return out;
}
