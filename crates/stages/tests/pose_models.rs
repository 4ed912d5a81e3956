//! The landmark models shipped in `models/` are the pruned ones
//! (`tools/pose_models/prune_mask.sh`): the four outputs the `pose` stage reads and no
//! segmentation mask, whose branch was half of the model's time in ONNX Runtime (which runs
//! every node whatever outputs a run asks for). A model put back as converted fails here.

use framebus_stages::pose::runtime::{ensure_loaded, models_dir};
use ort::session::Session;

#[test]
fn shipped_landmark_models_have_no_segmentation_mask_output() {
    let (_, env) = ensure_loaded().expect("ONNX Runtime (set ORT_DYLIB_PATH)");
    for file in ["pose_landmark_lite.onnx", "pose_landmark_full.onnx"] {
        let path = models_dir(None).join(file);
        let session = Session::builder(env)
            .unwrap()
            .commit_from_file(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outputs: Vec<(String, i64)> = session
            .outputs()
            .iter()
            .map(|o| {
                let n = o
                    .dtype()
                    .tensor_shape()
                    .map_or(-1, |s| s.iter().product::<i64>());
                (o.name().to_owned(), n)
            })
            .collect();
        let want = [
            ("Identity", 195),
            ("Identity_1", 1),
            ("Identity_3", 64 * 64 * 39),
            ("Identity_4", 117),
        ]
        .map(|(n, k)| (n.to_owned(), k));
        assert_eq!(outputs, want, "{file}: outputs (name, values)");
        assert!(
            !outputs.iter().any(|(_, n)| *n == 256 * 256),
            "{file} computes the 256×256 mask"
        );
    }
}
