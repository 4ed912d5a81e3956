/** Skeleton edges for keypoints, by the usual names (COCO 17 / MediaPipe 33) or COCO indices. */

const COCO = [
  'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder',
  'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
  'right_knee', 'left_ankle', 'right_ankle',
];

const NAMED_EDGES: [string, string][] = [
  ['nose', 'left_eye'], ['nose', 'right_eye'], ['left_eye', 'left_ear'], ['right_eye', 'right_ear'],
  ['left_shoulder', 'right_shoulder'], ['left_shoulder', 'left_elbow'], ['left_elbow', 'left_wrist'],
  ['right_shoulder', 'right_elbow'], ['right_elbow', 'right_wrist'], ['left_shoulder', 'left_hip'],
  ['right_shoulder', 'right_hip'], ['left_hip', 'right_hip'], ['left_hip', 'left_knee'],
  ['left_knee', 'left_ankle'], ['right_hip', 'right_knee'], ['right_knee', 'right_ankle'],
  ['left_ankle', 'left_heel'], ['left_heel', 'left_foot_index'], ['left_ankle', 'left_foot_index'],
  ['right_ankle', 'right_heel'], ['right_heel', 'right_foot_index'], ['right_ankle', 'right_foot_index'],
  ['left_wrist', 'left_index'], ['right_wrist', 'right_index'],
];

/** Pairs of keypoint ids to join, for the ids present. */
export function skeletonEdges(ids: Iterable<string>): [string, string][] {
  const have = new Set(ids);
  const edges: [string, string][] = [];
  for (const [a, b] of NAMED_EDGES) {
    if (have.has(a) && have.has(b)) edges.push([a, b]);
  }
  if (edges.length === 0) {
    // Numeric ids: COCO order.
    for (const [a, b] of NAMED_EDGES) {
      const ia = String(COCO.indexOf(a));
      const ib = String(COCO.indexOf(b));
      if (ia !== '-1' && ib !== '-1' && have.has(ia) && have.has(ib)) edges.push([ia, ib]);
    }
  }
  return edges;
}
