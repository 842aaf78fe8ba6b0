//! The log file: append-only, never holding a partial record, searched backwards.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde_json::Value;

use super::log::AuditError;

/// An append-only file that never keeps a partial record: a failed write is truncated away.
pub(super) struct FileSink {
    pub(super) file: File,
    /// Length of the file up to the last complete record.
    len: u64,
}

impl FileSink {
    pub(super) fn open(path: &Path) -> Result<FileSink, AuditError> {
        let err = |source| AuditError::Open {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(err)?;
        let len = repair_tail(&mut file).map_err(err)?;
        Ok(FileSink { file, len })
    }
}

impl Write for FileSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // One write(2) of the whole line: O_APPEND puts it at the end in one piece.
        match self.file.write(buf) {
            Ok(n) if n == buf.len() => {
                self.len += n as u64;
                Ok(n)
            }
            Ok(n) => {
                let _ = self.file.set_len(self.len);
                Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!(
                        "short write of an audit record ({n} of {} bytes)",
                        buf.len()
                    ),
                ))
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                Err(e)
            }
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.write(buf).map(|_| ())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Truncates a last line that has no `\n` (a record cut short by a crash); returns the length.
fn repair_tail(file: &mut File) -> io::Result<u64> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(0);
    }
    let mut end = len;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let start = end.saturating_sub(buf.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf[..n])?;
        if let Some(i) = buf[..n].iter().rposition(|&b| b == b'\n') {
            let keep = start + i as u64 + 1;
            if keep != len {
                tracing::warn!(
                    removed = len - keep,
                    "the audit log ended in a partial record (a crash while writing it); removed it"
                );
                file.set_len(keep)?;
            }
            return Ok(keep);
        }
        if start == 0 {
            tracing::warn!(
                removed = len,
                "the audit log held only a partial record; removed it"
            );
            file.set_len(0)?;
            return Ok(0);
        }
        end = start;
    }
}

/// Whether `id` can be a request ID (a UUID); nothing else is searched for.
pub fn valid_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// Reads the log backwards, complete lines only, and returns the record of `request_id`.
pub(super) fn find_record(path: &Path, request_id: &str) -> io::Result<Option<Value>> {
    if !valid_request_id(request_id) {
        return Ok(None);
    }
    let needle = format!("\"requestID\":\"{request_id}\"");
    find_last(path, |line| {
        if contains(line, needle.as_bytes()) {
            // The request ID is unique: a line that names it ends the search either way.
            Some(serde_json::from_slice(line).ok())
        } else {
            None
        }
    })
    .map(Option::flatten)
}

/// The newest record for which `matches` answers (it sees each complete line, newest first,
/// and answers `Some` to end the search with that value), reading the file from its end in
/// chunks so that recent records are found without reading the whole log.
pub(super) fn find_last<T>(
    path: &Path,
    mut matches: impl FnMut(&[u8]) -> Option<T>,
) -> io::Result<Option<T>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut pos = file.seek(SeekFrom::End(0))?;
    const CHUNK: u64 = 256 * 1024;
    // Bytes after `pos` not yet searched, always ending at a line boundary except for a torn
    // tail, which is never searched.
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let start = pos.saturating_sub(CHUNK);
        let mut buf = vec![0u8; (pos - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf)?;
        buf.extend_from_slice(&carry);
        let mut lines: Vec<&[u8]> = buf.split(|&b| b == b'\n').collect();
        // The last piece follows the last '\n': empty, or (first round) a torn record.
        lines.pop();
        let head = if start > 0 && !lines.is_empty() {
            Some(lines.remove(0))
        } else {
            None
        };
        for line in lines.iter().rev() {
            if let Some(found) = matches(line) {
                return Ok(Some(found));
            }
        }
        if start == 0 {
            return Ok(None);
        }
        carry = head.map(<[u8]>::to_vec).unwrap_or_default();
        carry.push(b'\n');
        pos = start;
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_tail_is_removed_and_reads_skip_it() {
        let dir = std::env::temp_dir().join(format!("trent-audit-{}", uuid::Uuid::new_v4()));
        let path = dir.join("audit.log");
        std::fs::create_dir_all(&dir).unwrap();
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        let complete = format!("{{\"requestID\":\"{id}\",\"n\":1}}\n");
        std::fs::write(&path, format!("{complete}{{\"requestID\":\"abc")).unwrap();
        assert_eq!(
            find_record(&path, id).unwrap().unwrap()["n"],
            serde_json::json!(1)
        );
        assert!(find_record(&path, "abc").unwrap().is_none());
        let sink = FileSink::open(&path).unwrap();
        assert_eq!(sink.len, complete.len() as u64);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), complete);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn find_crosses_chunk_boundaries() {
        let dir = std::env::temp_dir().join(format!("trent-audit-{}", uuid::Uuid::new_v4()));
        let path = dir.join("audit.log");
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = String::new();
        let pad = "x".repeat(1000);
        let mut ids = Vec::new();
        for i in 0..1000 {
            let id = uuid::Uuid::new_v4().to_string();
            text.push_str(&format!(
                "{{\"requestID\":\"{id}\",\"i\":{i},\"p\":\"{pad}\"}}\n"
            ));
            ids.push(id);
        }
        std::fs::write(&path, text).unwrap();
        for i in [0usize, 1, 260, 261, 499, 998, 999] {
            assert_eq!(
                find_record(&path, &ids[i]).unwrap().unwrap()["i"],
                serde_json::json!(i)
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
