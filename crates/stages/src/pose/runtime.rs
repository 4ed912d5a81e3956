//! Finding ONNX Runtime's shared library and the model files, and running a model with
//! buffers that are reused from frame to frame.
//!
//! The library (`libonnxruntime.so`, loaded at run time by `ort`'s `load-dynamic`) is looked
//! for in this order: the `ORT_DYLIB_PATH` environment variable, next to the running binary,
//! then the Python environment's `onnxruntime` package (`pip install onnxruntime==1.31.1`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::Session;
use ort::value::TensorRef;

/// What to do when the library is missing; part of every "not found" message.
pub const INSTALL_HINT: &str = "install it with `pip install onnxruntime==1.31.1` (the wheel \
     ships libonnxruntime.so in onnxruntime/capi/), or set ORT_DYLIB_PATH to the library file";

static LOADED: OnceLock<Result<(PathBuf, Environment), String>> = OnceLock::new();

/// Loads ONNX Runtime once per process; returns the library's path and the environment
/// sessions are made in, or why it failed.
pub fn ensure_loaded() -> Result<(&'static Path, &'static Environment), String> {
    LOADED
        .get_or_init(|| {
            let path = find_library(std::env::var_os("ORT_DYLIB_PATH").as_deref())?;
            let cannot = |e: &dyn std::fmt::Display| {
                format!(
                    "cannot load ONNX Runtime from `{}`: {e}; {INSTALL_HINT}",
                    path.display()
                )
            };
            let env = ort::init_from(&path)
                .map_err(|e| cannot(&e))?
                .with_name("framebus")
                .build()
                .map_err(|e| cannot(&e))?;
            Ok((path, env))
        })
        .as_ref()
        .map(|(p, e)| (p.as_path(), e))
        .map_err(Clone::clone)
}

/// Finds the library: `env` (the value of `ORT_DYLIB_PATH`), next to the binary, then in the
/// Python `onnxruntime` package.
pub fn find_library(env: Option<&std::ffi::OsStr>) -> Result<PathBuf, String> {
    if let Some(v) = env.filter(|v| !v.is_empty()) {
        let p = PathBuf::from(v);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "ONNX Runtime library not found: ORT_DYLIB_PATH is `{}`, which is not a file; \
                 {INSTALL_HINT}",
                p.display()
            ))
        };
    }
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf));
    if let Some(p) = exe_dir.as_deref().and_then(library_in) {
        return Ok(p);
    }
    for dir in python_package_dirs() {
        if let Some(p) = library_in(&dir.join("capi")) {
            return Ok(p);
        }
    }
    Err(format!(
        "ONNX Runtime library not found: ORT_DYLIB_PATH is unset, there is no \
         libonnxruntime.so next to the binary ({}), and Python has no `onnxruntime` package; \
         {INSTALL_HINT}",
        exe_dir.map_or_else(|| "?".into(), |d| d.display().to_string())
    ))
}

/// `libonnxruntime.so` (or a versioned `libonnxruntime.so.1.x.y`) in `dir`.
pub fn library_in(dir: &Path) -> Option<PathBuf> {
    let plain = dir.join("libonnxruntime.so");
    if plain.is_file() {
        return Some(plain);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so."))
                && p.is_file()
        })
        .collect();
    found.sort();
    found.pop()
}

/// Directories of the `onnxruntime` Python package: what `python3` imports, then the usual
/// site-packages folders.
fn python_package_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let asked = Command::new("python3")
        .args([
            "-c",
            "import onnxruntime,os;print(os.path.dirname(onnxruntime.__file__))",
        ])
        .output();
    if let Ok(out) = asked
        && out.status.success()
    {
        let s = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !s.is_empty() {
            dirs.push(PathBuf::from(s));
        }
    }
    let mut roots = Vec::new();
    if let Some(v) = std::env::var_os("VIRTUAL_ENV") {
        roots.push(PathBuf::from(v).join("lib"));
    }
    if let Some(h) = std::env::var_os("HOME") {
        roots.push(PathBuf::from(h).join(".local/lib"));
    }
    roots.push("/usr/local/lib".into());
    roots.push("/usr/lib".into());
    for root in roots {
        let Ok(entries) = std::fs::read_dir(&root) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            if name.to_string_lossy().starts_with("python3") {
                for sub in ["site-packages", "dist-packages"] {
                    dirs.push(e.path().join(sub).join("onnxruntime"));
                }
            }
        }
    }
    dirs
}

/// The folder holding the models: `param` if given, else `FRAMEBUS_MODELS_DIR`, else a
/// `models/` folder beside the binary or one of its parents, else the source tree's `models/`.
pub fn models_dir(param: Option<&str>) -> PathBuf {
    if let Some(p) = param.filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(v) = std::env::var_os("FRAMEBUS_MODELS_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(v);
    }
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1) {
            let m = dir.join("models");
            if m.join("pose_detection.onnx").is_file() {
                return m;
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

/// A model session with its input buffer and copies of the outputs it is read for.
pub struct Model {
    session: Session,
    /// Input tensor data, NHWC, written by the caller before [`Model::run`].
    pub input: Vec<f32>,
    shape: [usize; 4],
    /// `(output index, data)` for each output asked for, in the order asked.
    pub outputs: Vec<(usize, Vec<f32>)>,
}

impl Model {
    /// Loads `path` (an error names the file) for an NHWC input of `shape`, keeping the
    /// outputs whose element counts are `want` (first match each, in output order).
    pub fn load(
        path: &Path,
        threads: usize,
        shape: [usize; 4],
        want: &[usize],
    ) -> Result<Self, String> {
        let (_, env) = ensure_loaded()?;
        if !path.is_file() {
            return Err(format!(
                "model file `{}` not found (set `models_dir` to the folder holding it)",
                path.display()
            ));
        }
        let bad = |e: &dyn std::fmt::Display| {
            format!("model file `{}` cannot be loaded: {e}", path.display())
        };
        let session = Session::builder(env)
            .map_err(|e| bad(&e))?
            .with_intra_threads(threads.max(1))
            .map_err(|e| bad(&e))?
            .with_inter_threads(1)
            .map_err(|e| bad(&e))?
            .commit_from_file(path)
            .map_err(|e| bad(&e))?;
        let ins = session.inputs();
        let input_ok = ins.len() == 1
            && ins[0]
                .dtype()
                .tensor_shape()
                .is_some_and(|s| s.iter().map(|&d| d as usize).eq(shape.iter().copied()));
        if !input_ok {
            return Err(bad(&format_args!(
                "expected one input of shape {shape:?}, found {:?}",
                ins.iter()
                    .map(|i| i.dtype().to_string())
                    .collect::<Vec<_>>()
            )));
        }
        let mut outputs = Vec::new();
        let mut used = vec![false; session.outputs().len()];
        for &n in want {
            let found = session.outputs().iter().enumerate().position(|(i, o)| {
                !used[i]
                    && o.dtype()
                        .tensor_shape()
                        .is_some_and(|s| s.iter().product::<i64>() == n as i64)
            });
            let Some(i) = found else {
                return Err(bad(&format_args!("no output with {n} values")));
            };
            used[i] = true;
            outputs.push((i, vec![0.0; n]));
        }
        Ok(Self {
            session,
            input: vec![0.0; shape.iter().product()],
            shape,
            outputs,
        })
    }

    /// Runs the model on [`Model::input`] and copies the outputs asked for into
    /// [`Model::outputs`]. ONNX Runtime allocates its own outputs inside `run`.
    pub fn run(&mut self) -> Result<(), String> {
        let t =
            TensorRef::from_array_view((self.shape, &self.input[..])).map_err(|e| e.to_string())?;
        let outs = self
            .session
            .run(ort::inputs![t])
            .map_err(|e| e.to_string())?;
        for (i, buf) in &mut self.outputs {
            let (_, data) = outs[*i]
                .try_extract_tensor::<f32>()
                .map_err(|e| e.to_string())?;
            if data.len() != buf.len() {
                return Err(format!(
                    "output {i}: {} values, expected {}",
                    data.len(),
                    buf.len()
                ));
            }
            buf.copy_from_slice(data);
        }
        Ok(())
    }

    /// Output `k` mutably and output `j` (`k != j`) shared, in the order asked at load.
    pub fn out_pair(&mut self, k: usize, j: usize) -> (&mut [f32], &[f32]) {
        assert_ne!(k, j);
        if k < j {
            let (a, b) = self.outputs.split_at_mut(j);
            (&mut a[k].1, &b[0].1)
        } else {
            let (a, b) = self.outputs.split_at_mut(k);
            (&mut b[0].1, &a[j].1)
        }
    }

    /// Output `k` (in the order asked at load).
    pub fn out(&self, k: usize) -> &[f32] {
        &self.outputs[k].1
    }
}
