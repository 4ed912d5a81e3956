//! `image_sequence`: the PNG and JPEG files of a directory, in file-name order, as frames.
//!
//! # How it works
//! The directory is listed once when the source opens (a missing or empty directory is an
//! error then). Each call reads and decodes the next file into a pooled RGB frame, paced at
//! `fps` by the injected clock. A file that cannot be read or decoded is reported as an
//! error for that call and skipped; the next call goes on with the following file. With
//! `looping`, the sequence starts over after the last file; frame ids keep increasing.
//!
//! # Parameters
//! See [`ImageSequenceParams`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use framebus_core::clock::Clock;
use framebus_core::frame::{Frame, FramePool, PixelFormat};
use framebus_core::source::{Source, SourceInit, StopFlag};
use framebus_core::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::decode::decode_rgb;

/// Parameters of [`ImageSequence`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ImageSequenceParams {
    /// Directory holding the images (*.png, *.jpg, *.jpeg); relative to the config file.
    pub path: String,
    /// Frames per second; 0 = unpaced (as fast as the pipeline takes them).
    #[schemars(range(min = 0, max = 1000))]
    pub fps: f64,
    /// Start over after the last image instead of ending the stream.
    pub looping: bool,
}

impl Default for ImageSequenceParams {
    fn default() -> Self {
        Self {
            path: "images".into(),
            fps: 30.0,
            looping: false,
        }
    }
}

/// Frames from a directory of images (kind `image_sequence`).
pub struct ImageSequence {
    params: ImageSequenceParams,
    files: Vec<PathBuf>,
    next_file: usize,
    next_id: u64,
    pool: FramePool,
    clock: Arc<dyn Clock>,
    stop: StopFlag,
    start_ns: Option<u64>,
    last_t_ns: Option<u64>,
}

impl ImageSequence {
    /// The files this source plays, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

fn is_image(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        ["png", "jpg", "jpeg"]
            .iter()
            .any(|x| e.eq_ignore_ascii_case(x))
    })
}

/// The image files of `dir`, sorted by file name.
fn list_images(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::source(format!(
            "image_sequence: cannot read directory {}: {e}",
            dir.display()
        ))
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_image(p))
        .collect();
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    if files.is_empty() {
        return Err(Error::source(format!(
            "image_sequence: no .png, .jpg or .jpeg files in {}",
            dir.display()
        )));
    }
    Ok(files)
}

impl Source for ImageSequence {
    type Params = ImageSequenceParams;
    const KIND: &'static str = "image_sequence";
    const DESCRIPTION: &'static str =
        "The PNG/JPEG files of a directory in file-name order, optionally looping";

    fn new(params: ImageSequenceParams, init: &SourceInit) -> Result<Self> {
        let dir = init.base_dir.join(&params.path);
        let files = list_images(&dir)?;
        Ok(Self {
            params,
            files,
            next_file: 0,
            next_id: 1,
            pool: init.frame_pool(),
            clock: init.clock.clone(),
            stop: init.stop.clone(),
            start_ns: None,
            last_t_ns: None,
        })
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        if self.stop.is_stopped() {
            return Ok(None);
        }
        if self.next_file >= self.files.len() {
            if !self.params.looping {
                return Ok(None);
            }
            self.next_file = 0;
        }
        let path = &self.files[self.next_file];
        self.next_file += 1;
        let image = std::fs::read(path)
            .map_err(|e| Error::source(format!("{}: {e}", path.display())))
            .and_then(|bytes| {
                decode_rgb(&bytes, None)
                    .map_err(|e| Error::source(format!("{}: {e}", path.display())))
            })?;
        if self.params.fps > 0.0 {
            let start = *self.start_ns.get_or_insert_with(|| self.clock.now_ns());
            let offset = ((self.next_id - 1) as f64 * 1e9 / self.params.fps).round() as u64;
            self.clock.sleep_until(start + offset);
        }
        let stop = &self.stop;
        let Some(mut frame) =
            self.pool
                .acquire_or(image.width, image.height, PixelFormat::Rgb8, || {
                    stop.is_stopped()
                })
        else {
            return Ok(None);
        };
        let now = self.clock.now_ns();
        let t_ns = self.last_t_ns.map_or(now, |prev| now.max(prev + 1));
        self.last_t_ns = Some(t_ns);
        let data = frame.get_mut().expect("a freshly acquired frame is unique");
        data.frame_id = self.next_id;
        data.t_ns = t_ns;
        data.data.copy_from_slice(&image.rgb);
        self.next_id += 1;
        Ok(Some(frame))
    }
}

framebus_core::register_source!(ImageSequence);

/// Referenced by [`crate::link`] so the linker keeps this module's registration.
pub(crate) fn keep() {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tests::{jpeg, png};
    use crate::test_util::init_with;
    use framebus_core::clock::ManualClock;

    fn init(dir: &Path) -> SourceInit {
        SourceInit {
            base_dir: dir.to_path_buf(),
            ..init_with(Arc::new(ManualClock::new()), 4)
        }
    }

    fn params(looping: bool) -> ImageSequenceParams {
        ImageSequenceParams {
            path: "seq".into(),
            fps: 10.0,
            looping,
        }
    }

    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let seq = dir.path().join("seq");
        std::fs::create_dir(&seq).unwrap();
        std::fs::write(seq.join("b.JPG"), jpeg(20, 10, [10, 200, 10])).unwrap();
        std::fs::write(seq.join("a.png"), png(8, 6)).unwrap();
        std::fs::write(seq.join("c.jpeg"), jpeg(4, 4, [200, 10, 10])).unwrap();
        std::fs::write(seq.join("notes.txt"), "not an image").unwrap();
        dir
    }

    #[test]
    fn plays_images_in_name_order_with_real_codecs() {
        let dir = folder();
        let mut s = ImageSequence::new(params(false), &init(dir.path())).unwrap();
        assert_eq!(s.files().len(), 3);
        let frames: Vec<Frame> = std::iter::from_fn(|| s.next_frame().unwrap()).collect();
        let dims: Vec<_> = frames
            .iter()
            .map(|f| (f.frame_id, f.width, f.height, f.t_ns))
            .collect();
        assert_eq!(
            dims,
            [
                (1, 8, 6, 0),
                (2, 20, 10, 100_000_000),
                (3, 4, 4, 200_000_000)
            ]
        );
        assert!(frames.iter().all(|f| f.format == PixelFormat::Rgb8));
        let g = &frames[1].data[30..33];
        assert!(g[1] > 180 && g[0] < 40, "green JPEG decoded as {g:?}");
    }

    #[test]
    fn loops_with_increasing_ids() {
        let dir = folder();
        let mut s = ImageSequence::new(params(true), &init(dir.path())).unwrap();
        let ids: Vec<_> = (0..7)
            .map(|_| s.next_frame().unwrap().unwrap())
            .map(|f| (f.frame_id, f.width))
            .collect();
        assert_eq!(
            ids,
            [(1, 8), (2, 20), (3, 4), (4, 8), (5, 20), (6, 4), (7, 8)]
        );
    }

    #[test]
    fn a_corrupt_file_is_an_error_then_the_next_file_plays() {
        let dir = folder();
        std::fs::write(dir.path().join("seq/b2.png"), b"\x89PNG\r\n\x1a\nbroken").unwrap();
        let mut s = ImageSequence::new(params(false), &init(dir.path())).unwrap();
        assert_eq!(s.next_frame().unwrap().unwrap().width, 8);
        assert_eq!(s.next_frame().unwrap().unwrap().width, 20);
        let e = s.next_frame().unwrap_err().to_string();
        assert!(e.contains("b2.png"), "{e}");
        let f = s.next_frame().unwrap().unwrap();
        assert_eq!((f.frame_id, f.width), (3, 4));
        assert!(s.next_frame().unwrap().is_none());
    }

    #[test]
    fn missing_or_empty_directories_are_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let e = ImageSequence::new(params(false), &init(dir.path()))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("cannot read directory") && e.contains("seq"),
            "{e}"
        );
        std::fs::create_dir(dir.path().join("seq")).unwrap();
        std::fs::write(dir.path().join("seq/readme.md"), "x").unwrap();
        let e = ImageSequence::new(params(false), &init(dir.path()))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("no .png"), "{e}");
    }

    #[test]
    fn absolute_paths_ignore_the_base_dir() {
        let dir = folder();
        let p = ImageSequenceParams {
            path: dir.path().join("seq").display().to_string(),
            ..params(false)
        };
        let s = ImageSequence::new(p, &init(Path::new("/nonexistent"))).unwrap();
        assert_eq!(s.files().len(), 3);
    }
}
