//! Finding and reading the files of a model.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::{Sources, Span};
use std::path::{Path, PathBuf};

/// Reads every model file the inputs name: files as given, directories for every
/// `.storm` file below them. Files are read in path order, each once.
pub fn load(inputs: &[PathBuf], sources: &mut Sources, diags: &mut Diagnostics) {
    let mut files: Vec<PathBuf> = Vec::new();
    for input in inputs {
        match std::fs::metadata(input) {
            Err(e) => io_error(
                sources,
                diags,
                input,
                format!("cannot read `{}`: {}", input.display(), reason(&e)),
                "check the path; a model is a `.storm` file or a directory of them",
            ),
            Ok(meta) if meta.is_dir() => {
                let before = files.len();
                if let Err(e) = walk(input, &mut files) {
                    io_error(
                        sources,
                        diags,
                        input,
                        format!(
                            "cannot read directory `{}`: {}",
                            input.display(),
                            reason(&e)
                        ),
                        "check the directory's permissions",
                    );
                } else if files.len() == before {
                    io_error(
                        sources,
                        diags,
                        input,
                        format!("directory `{}` contains no `.storm` files", input.display()),
                        "point storm at a directory with model files, or at a `.storm` file",
                    );
                }
            }
            Ok(meta) if !meta.is_file() => io_error(
                sources,
                diags,
                input,
                format!("`{}` is not a regular file", input.display()),
                "a model is a `.storm` file or a directory of them",
            ),
            Ok(_) => files.push(input.clone()),
        }
    }
    files.sort();
    files.dedup();
    // The same file named twice (`a.storm`, `./a.storm`, through a link) is read once.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    for path in files {
        match std::fs::read(&path) {
            Err(e) => io_error(
                sources,
                diags,
                &path,
                format!("cannot read `{}`: {}", path.display(), reason(&e)),
                "check the file's permissions",
            ),
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => {
                    sources.add(path, text);
                }
                Err(e) => {
                    let offset = e.utf8_error().valid_up_to();
                    let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                    let valid = text
                        .char_indices()
                        .map(|(i, _)| i)
                        .find(|&i| i >= offset)
                        .unwrap_or(text.len());
                    let file = sources.add(path.clone(), text);
                    diags.push(
                        Diagnostic::new(
                            Code::Io,
                            Span::new(file, valid, valid),
                            format!("`{}` is not valid UTF-8", path.display()),
                        )
                        .label("invalid byte here")
                        .help("save the model as UTF-8"),
                    );
                }
            },
        }
    }
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Hidden files and folders (.git, an editor's `.#a.storm` lock) and build
        // output are never part of a model.
        if name.starts_with('.') {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if name != "target" && name != "node_modules" {
                walk(&path, files)?;
            }
        } else if path.extension().is_some_and(|e| e == "storm")
            // Only regular files (or links to them): a FIFO would block the read.
            && std::fs::metadata(&path).is_ok_and(|m| m.is_file())
        {
            files.push(path);
        }
    }
    Ok(())
}

fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

fn io_error(
    sources: &mut Sources,
    diags: &mut Diagnostics,
    path: &Path,
    message: String,
    help: &str,
) {
    let file = sources.add(path.to_path_buf(), String::new());
    diags.push(
        Diagnostic::new(Code::Io, Span::new(file, 0, 0), message)
            .label("here")
            .help(help),
    );
}
