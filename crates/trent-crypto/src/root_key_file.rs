//! The root key file: 32 raw bytes, mode 0600, created once on first start.
//!
//! Creation writes a private temporary file in the same directory, syncs
//! it, then hard-links it into place. The link fails if the name exists, so
//! a crash never leaves a half-written key under the real name, and two
//! instances starting at once both end up with whichever key landed first.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::aead::KEY_LEN;
use crate::{CryptoError, RootKey, rand};

impl RootKey {
    /// Loads the root key from `path`, creating it (mode 0600) if absent.
    ///
    /// Refuses a file that is not exactly 32 bytes
    /// ([`CryptoError::RootKeyFileSize`]) and, on Unix, a file readable or
    /// writable by group or others ([`CryptoError::RootKeyFilePermissions`]).
    /// The parent directory must already exist.
    pub fn load_or_create(path: &Path) -> Result<RootKey, CryptoError> {
        match File::open(path) {
            Ok(file) => read_existing(path, file),
            Err(e) if e.kind() == io::ErrorKind::NotFound => create(path),
            Err(e) => Err(io_error(path, e)),
        }
    }
}

fn io_error(path: &Path, source: io::Error) -> CryptoError {
    CryptoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_existing(path: &Path, mut file: File) -> Result<RootKey, CryptoError> {
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    check_permissions(path, &meta)?;
    if !meta.is_file() || meta.len() != KEY_LEN as u64 {
        return Err(CryptoError::RootKeyFileSize {
            path: path.to_path_buf(),
            len: meta.len(),
        });
    }
    // read_exact into a fixed zeroizing buffer: read_to_end could leave
    // copies of the key in reallocated or probe buffers.
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    file.read_exact(bytes.as_mut_slice())
        .map_err(|e| io_error(path, e))?;
    // The file may have grown since metadata(); a key with trailing data is
    // not the file we wrote.
    let mut probe = [0u8; 1];
    if file.read(&mut probe).map_err(|e| io_error(path, e))? != 0 {
        return Err(CryptoError::RootKeyFileSize {
            path: path.to_path_buf(),
            len: meta.len().max(KEY_LEN as u64 + 1),
        });
    }
    RootKey::from_bytes(bytes.as_slice())
}

#[cfg(unix)]
fn check_permissions(path: &Path, meta: &fs::Metadata) -> Result<(), CryptoError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CryptoError::RootKeyFilePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path, _meta: &fs::Metadata) -> Result<(), CryptoError> {
    Ok(())
}

fn create(path: &Path) -> Result<RootKey, CryptoError> {
    let key = RootKey::generate()?;
    let tmp = temp_path(path)?;
    let written = write_private(&tmp, &key.to_file_bytes());
    let linked = written.and_then(|()| fs::hard_link(&tmp, path));
    // The temporary name is never needed again, whatever happened.
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_parent(path);
            Ok(key)
        }
        // Another process created the key first: use theirs, so every
        // instance seals under the same root key.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let file = File::open(path).map_err(|e| io_error(path, e))?;
            read_existing(path, file)
        }
        Err(e) => Err(io_error(path, e)),
    }
}

fn temp_path(path: &Path) -> Result<PathBuf, CryptoError> {
    let name = path
        .file_name()
        .ok_or_else(|| io_error(path, io::Error::other("path has no file name")))?;
    let suffix = hex::encode(rand::random_bytes(8)?);
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{suffix}.tmp"));
    Ok(path.with_file_name(tmp_name))
}

fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Set at creation, so the key is never readable by others, not even
        // for an instant.
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes the new directory entry durable, so a power loss right after the
/// first start cannot lose a key that material was already sealed under.
/// Best effort: not every platform can open or sync a directory.
fn sync_parent(path: &Path) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = File::open(parent) {
        let _ = dir.sync_all();
    }
}
