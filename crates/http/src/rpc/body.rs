//! File arguments: the `multipart/form-data` body read part by part (never whole) and handed
//! to blocking code through a bounded channel.

use std::io::Read;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::{Buf, Bytes};
use ipfs_kit_content::import::{EntryMeta, SharedRead};
use ipfs_kit_content::unixfs::Mtime;
use tokio::sync::mpsc;

use super::multipart::{self, Multipart};
use super::reply::RpcError;

/// What a part holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartKind {
    /// `application/x-directory`.
    Dir,
    /// `application/symlink`: the body is the target.
    Symlink,
    /// Anything else: file bytes.
    File,
}

/// A part's header: its relative path (URL-unescaped, as Kubo reads `filename`), kind and
/// metadata (from `name="file?mode=…&mtime=…"`).
#[derive(Debug, Clone)]
pub(crate) struct PartHead {
    pub(crate) path: String,
    pub(crate) kind: PartKind,
    pub(crate) meta: EntryMeta,
}

/// Messages from the body reader to the blocking consumer.
#[derive(Debug)]
enum Feed {
    Head(PartHead),
    Data(Bytes),
    End,
    Failed(String),
}

/// Parts in flight (each message holds at most one network read).
const FEED_QUEUE: usize = 32;

/// Go's `url.QueryUnescape` (`+` is a space), falling back to the raw name as Kubo does.
fn query_unescape(s: &str) -> String {
    let plus = s.replace('+', " ");
    match percent_encoding::percent_decode_str(&plus).decode_utf8() {
        Ok(d) => d.into_owned(),
        Err(_) => s.to_string(),
    }
}

fn part_meta(field_name: Option<&str>) -> EntryMeta {
    let mut meta = EntryMeta::default();
    let Some((_, query)) = field_name.and_then(|n| n.split_once('?')) else {
        return meta;
    };
    let mut secs = None;
    let mut nsecs = 0u32;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "mode" => meta.mode = u32::from_str_radix(&v, 8).ok(),
            "mtime" => secs = v.parse::<i64>().ok(),
            "mtime-nsecs" => nsecs = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    if let Some(seconds) = secs {
        meta.mtime = Some(Mtime {
            seconds,
            nanos: Some(nsecs).filter(|&n| n != 0 && n < 1_000_000_000),
        });
    }
    meta
}

/// Start reading the multipart body of a request; `None` when the request has none.
pub(crate) fn start(headers: &HeaderMap, body: Body) -> Result<Option<PartFeed>, RpcError> {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "multipart/form-data" && mime != "multipart/mixed" {
        return Ok(None);
    }
    let boundary = multipart::boundary(ct)
        .map_err(|e| RpcError::client(format!("bad multipart body: {e}")))?;
    let mut multipart = Multipart::new(body.into_data_stream(), &boundary);
    let (tx, rx) = mpsc::channel(FEED_QUEUE);
    tokio::spawn(async move {
        let result: Result<(), String> = async {
            while let Some(part) = multipart.next_part().await.map_err(|e| e.to_string())? {
                let kind = match part.content_type.as_deref() {
                    Some("application/x-directory") => PartKind::Dir,
                    Some("application/symlink") => PartKind::Symlink,
                    Some("multipart/mixed") | Some("multipart/form-data") => {
                        return Err("nested multipart directories are not supported; send one part per entry".into());
                    }
                    _ => PartKind::File,
                };
                let head = PartHead {
                    path: query_unescape(part.file_name.as_deref().unwrap_or("")),
                    kind,
                    meta: part_meta(part.name.as_deref()),
                };
                if tx.send(Feed::Head(head)).await.is_err() {
                    return Ok(());
                }
                while let Some(chunk) = multipart.chunk().await.map_err(|e| e.to_string())? {
                    if tx.send(Feed::Data(chunk)).await.is_err() {
                        return Ok(());
                    }
                }
                if tx.send(Feed::End).await.is_err() {
                    return Ok(());
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            let _ = tx
                .send(Feed::Failed(format!("reading the request body: {e}")))
                .await;
        }
    });
    Ok(Some(PartFeed {
        rx,
        cur: Bytes::new(),
        in_part: false,
    }))
}

/// The blocking side: parts one after another, each readable as a byte stream.
pub(crate) struct PartFeed {
    rx: mpsc::Receiver<Feed>,
    cur: Bytes,
    in_part: bool,
}

fn broken(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

impl PartFeed {
    /// The next part's header (the rest of the current part is skipped); `None` at the end.
    pub(crate) fn next_part(&mut self) -> std::io::Result<Option<PartHead>> {
        while self.in_part {
            let mut sink = [0u8; 8192];
            if self.read(&mut sink)? == 0 {
                break;
            }
        }
        match self.rx.blocking_recv() {
            None => Ok(None),
            Some(Feed::Head(h)) => {
                self.in_part = true;
                self.cur = Bytes::new();
                Ok(Some(h))
            }
            Some(Feed::Failed(e)) => Err(broken(e)),
            Some(_) => Err(broken("multipart data outside a part".into())),
        }
    }

    /// The next part's header, from async code.
    pub(crate) async fn next_part_async(&mut self) -> std::io::Result<Option<PartHead>> {
        while self.in_part {
            if self.read_async().await?.is_none() {
                break;
            }
        }
        match self.rx.recv().await {
            None => Ok(None),
            Some(Feed::Head(h)) => {
                self.in_part = true;
                self.cur = Bytes::new();
                Ok(Some(h))
            }
            Some(Feed::Failed(e)) => Err(broken(e)),
            Some(_) => Err(broken("multipart data outside a part".into())),
        }
    }

    /// The next chunk of the current part, from async code; `None` at its end.
    pub(crate) async fn read_async(&mut self) -> std::io::Result<Option<Bytes>> {
        if !self.cur.is_empty() {
            return Ok(Some(std::mem::take(&mut self.cur)));
        }
        if !self.in_part {
            return Ok(None);
        }
        match self.rx.recv().await {
            Some(Feed::Data(b)) => Ok(Some(b)),
            Some(Feed::End) => {
                self.in_part = false;
                Ok(None)
            }
            Some(Feed::Failed(e)) => Err(broken(e)),
            Some(Feed::Head(_)) | None => {
                Err(broken("the request body ended inside a part".into()))
            }
        }
    }

    /// The whole current part, refusing more than `limit` bytes (async).
    pub(crate) async fn read_all_async(&mut self, limit: usize) -> Result<Vec<u8>, RpcError> {
        let mut out = Vec::new();
        while let Some(b) = self
            .read_async()
            .await
            .map_err(|e| RpcError::normal(e.to_string()))?
        {
            if out.len() + b.len() > limit {
                return Err(RpcError::normal(format!(
                    "the part is over the {limit}-byte limit"
                )));
            }
            out.extend_from_slice(&b);
        }
        Ok(out)
    }
}

impl PartFeed {
    /// Make `cur` hold the next bytes of the current part; `false` at its end.
    fn fill(&mut self) -> std::io::Result<bool> {
        while self.cur.is_empty() {
            if !self.in_part {
                return Ok(false);
            }
            match self.rx.blocking_recv() {
                Some(Feed::Data(b)) => self.cur = b,
                Some(Feed::End) => {
                    self.in_part = false;
                    return Ok(false);
                }
                Some(Feed::Failed(e)) => return Err(broken(e)),
                Some(Feed::Head(_)) | None => {
                    return Err(broken("the request body ended inside a part".into()));
                }
            }
        }
        Ok(true)
    }
}

impl Read for PartFeed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.fill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        self.cur.advance(n);
        Ok(n)
    }
}

/// The part's bytes as the network delivered them: the importer stores them without a copy.
impl SharedRead for PartFeed {
    fn read_shared(&mut self, max: usize) -> std::io::Result<Option<Bytes>> {
        if max == 0 || !self.fill()? {
            return Ok(None);
        }
        let n = max.min(self.cur.len());
        Ok(Some(self.cur.split_to(n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_meta() {
        assert_eq!(query_unescape("a%20b+c%2Bd"), "a b c+d");
        assert_eq!(query_unescape("%zz"), "%zz");
        let m = part_meta(Some("file-1?mode=0644&mtime=5&mtime-nsecs=7"));
        assert_eq!(m.mode, Some(0o644));
        assert_eq!(
            m.mtime,
            Some(Mtime {
                seconds: 5,
                nanos: Some(7)
            })
        );
        assert_eq!(part_meta(Some("file")), EntryMeta::default());
    }
}
