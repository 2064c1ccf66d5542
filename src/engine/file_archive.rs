//! Local files on their way into a host: one tar archive made on a blocking thread
//! while the engine reads it, so memory holds a few chunks, never a whole file.

use std::io::Write;

use bytes::Bytes;

use super::{ByteStream, FileCopy};

/// Chunks of at most this many bytes wait between the file reader and the engine.
const CHUNK: usize = 256 * 1024;

/// A tar archive of `files` (each at its `dest`, owned by root, with its mode), made
/// on a blocking thread while the engine reads it: memory holds a few chunks, never a
/// whole file. The archive is meant to be extracted at `/`.
pub fn archive_stream(files: Vec<FileCopy>) -> ByteStream {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let writer = ChannelWriter {
            sender: sender.clone(),
            pending: Vec::with_capacity(CHUNK),
        };
        let result = write_archive(writer, &files);
        if let Err(e) = result {
            let _ = sender.blocking_send(Err(e));
        }
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(receiver))
}

fn write_archive(writer: ChannelWriter, files: &[FileCopy]) -> std::io::Result<()> {
    let mut builder = tar::Builder::new(writer);
    for copy in files {
        let mut file = std::fs::File::open(&copy.local)?;
        let size = file.metadata()?.len();
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(copy.mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
        );
        header.set_entry_type(tar::EntryType::Regular);
        let name = copy.dest.trim_start_matches('/');
        // A file that grows meanwhile is cut at the size checked against the limits.
        builder.append_data(&mut header, name, std::io::Read::take(&mut file, size))?;
    }
    let mut writer = builder.into_inner()?;
    writer.flush()
}

/// Hands what is written to the engine's upload in chunks.
struct ChannelWriter {
    sender: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    pending: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(data);
        if self.pending.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.pending,
            Vec::with_capacity(CHUNK),
        ));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::other("the engine stopped reading the files"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_archive_streams_each_file_at_its_destination_with_its_mode() {
        use futures_util::StreamExt;
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("site/conf")).unwrap();
        std::fs::write(root.path().join("site/conf/a.conf"), "inside\n").unwrap();
        let big = root.path().join("big.bin");
        std::fs::write(&big, vec![7u8; 3 * CHUNK + 5]).unwrap();
        let files = vec![
            FileCopy {
                local: root.path().join("site/conf/a.conf"),
                dest: "/etc/app/a.conf".into(),
                mode: 0o640,
            },
            FileCopy {
                local: big,
                dest: "/srv/big.bin".into(),
                mode: 0o600,
            },
        ];
        let mut stream = archive_stream(files);
        let mut bytes = Vec::new();
        let mut chunks = 0;
        while let Some(chunk) = stream.next().await {
            bytes.extend_from_slice(&chunk.unwrap());
            chunks += 1;
        }
        assert!(chunks > 1, "the archive came in one piece");
        let mut archive = tar::Archive::new(bytes.as_slice());
        let entries: Vec<(String, u32, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.size().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("etc/app/a.conf".to_string(), 0o640, 7),
                ("srv/big.bin".to_string(), 0o600, 3 * CHUNK as u64 + 5)
            ]
        );
    }
}
