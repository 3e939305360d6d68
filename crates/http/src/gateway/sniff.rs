//! `Content-Type` of a file: from its name's extension, else sniffed from its first bytes the
//! way Go's `http.DetectContentType` does (the WHATWG MIME sniffing algorithm), which is what
//! Kubo's gateway answers.

/// How many leading bytes the sniffer looks at.
pub(crate) const SNIFF_LEN: usize = 512;

/// The type for a file called `name` (if any) starting with `head`.
pub(crate) fn content_type(name: Option<&str>, head: &[u8]) -> String {
    if let Some(t) = name.and_then(by_extension) {
        return t;
    }
    sniff(head).to_string()
}

fn by_extension(name: &str) -> Option<String> {
    let ext = name.rsplit_once('.')?.1;
    if ext.is_empty() {
        return None;
    }
    let mime = mime_guess::from_ext(ext).first()?;
    let mut t = mime.essence_str().to_string();
    // Go's mime table gives text types a charset.
    if mime.type_() == mime_guess::mime::TEXT || t == "application/javascript" {
        t.push_str("; charset=utf-8");
    }
    Some(t)
}

/// A signature: bytes to match under a mask (0xFF = exact), after optionally skipping leading
/// whitespace.
struct Masked {
    mask: &'static [u8],
    pat: &'static [u8],
    skip_ws: bool,
    ct: &'static str,
}

/// Signatures from the WHATWG MIME Sniffing standard, in the order Go's `net/http/sniff.go`
/// checks them (data, reproduced for compatibility).
const MASKED: &[Masked] = &[
    Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF",
        pat: b"<?xml",
        skip_ws: true,
        ct: "text/xml; charset=utf-8",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF",
        pat: b"%PDF-",
        skip_ws: false,
        ct: "application/pdf",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF",
        pat: b"%!PS-Adobe-",
        skip_ws: false,
        ct: "application/postscript",
    },
    Masked {
        mask: b"\xFF\xFF\x00\x00",
        pat: b"\xFE\xFF\x00\x00",
        skip_ws: false,
        ct: "text/plain; charset=utf-16be",
    },
    Masked {
        mask: b"\xFF\xFF\x00\x00",
        pat: b"\xFF\xFE\x00\x00",
        skip_ws: false,
        ct: "text/plain; charset=utf-16le",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\x00",
        pat: b"\xEF\xBB\xBF\x00",
        skip_ws: false,
        ct: "text/plain; charset=utf-8",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF",
        pat: b"\x00\x00\x01\x00",
        skip_ws: false,
        ct: "image/x-icon",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF",
        pat: b"\x00\x00\x02\x00",
        skip_ws: false,
        ct: "image/x-icon",
    },
    Masked {
        mask: b"\xFF\xFF",
        pat: b"BM",
        skip_ws: false,
        ct: "image/bmp",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF\xFF",
        pat: b"GIF87a",
        skip_ws: false,
        ct: "image/gif",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF\xFF",
        pat: b"GIF89a",
        skip_ws: false,
        ct: "image/gif",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF\xFF\xFF",
        pat: b"RIFF\x00\x00\x00\x00WEBPVP",
        skip_ws: false,
        ct: "image/webp",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF",
        pat: b"\x89PNG\x0D\x0A\x1A\x0A",
        skip_ws: false,
        ct: "image/png",
    },
    Masked {
        mask: b"\xFF\xFF\xFF",
        pat: b"\xFF\xD8\xFF",
        skip_ws: false,
        ct: "image/jpeg",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF",
        pat: b"FORM\x00\x00\x00\x00AIFF",
        skip_ws: false,
        ct: "audio/aiff",
    },
    Masked {
        mask: b"\xFF\xFF\xFF",
        pat: b"ID3",
        skip_ws: false,
        ct: "audio/mpeg",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF",
        pat: b"OggS\x00",
        skip_ws: false,
        ct: "application/ogg",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF",
        pat: b"MThd\x00\x00\x00\x06",
        skip_ws: false,
        ct: "audio/midi",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF",
        pat: b"RIFF\x00\x00\x00\x00AVI ",
        skip_ws: false,
        ct: "video/avi",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF",
        pat: b"RIFF\x00\x00\x00\x00WAVE",
        skip_ws: false,
        ct: "audio/wave",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF",
        pat: b"\x1A\x45\xDF\xA3",
        skip_ws: false,
        ct: "video/webm",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF",
        pat: b"wOFF",
        skip_ws: false,
        ct: "font/woff",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF",
        pat: b"wOF2",
        skip_ws: false,
        ct: "font/woff2",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF",
        pat: b"OTTO",
        skip_ws: false,
        ct: "font/otf",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF",
        pat: b"\x00\x01\x00\x00",
        skip_ws: false,
        ct: "font/ttf",
    },
    Masked {
        mask: b"\xFF\xFF\xFF",
        pat: b"\x1F\x8B\x08",
        skip_ws: false,
        ct: "application/x-gzip",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF",
        pat: b"PK\x03\x04",
        skip_ws: false,
        ct: "application/zip",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF\xFF\xFF",
        pat: b"Rar!\x1A\x07\x00",
        skip_ws: false,
        ct: "application/x-rar-compressed",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF",
        pat: b"Rar!\x1A\x07\x01\x00",
        skip_ws: false,
        ct: "application/x-rar-compressed",
    },
    Masked {
        mask: b"\xFF\xFF\xFF\xFF",
        pat: b"\x00\x61\x73\x6D",
        skip_ws: false,
        ct: "application/wasm",
    },
];

/// HTML tags that make a document HTML when they open it (case-insensitive, followed by a
/// space or `>`), from the same table.
const HTML_TAGS: &[&[u8]] = &[
    b"<!DOCTYPE HTML",
    b"<HTML",
    b"<HEAD",
    b"<SCRIPT",
    b"<IFRAME",
    b"<H1",
    b"<DIV",
    b"<FONT",
    b"<TABLE",
    b"<A",
    b"<STYLE",
    b"<TITLE",
    b"<B",
    b"<BODY",
    b"<BR",
    b"<P",
    b"<!--",
];

fn is_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

fn skip_ws(data: &[u8]) -> &[u8] {
    let n = data.iter().take_while(|b| is_ws(**b)).count();
    &data[n..]
}

fn masked_match(m: &Masked, data: &[u8]) -> bool {
    let data = if m.skip_ws { skip_ws(data) } else { data };
    data.len() >= m.pat.len()
        && m.pat
            .iter()
            .zip(m.mask)
            .zip(data)
            .all(|((p, k), d)| d & k == *p)
}

fn html_match(data: &[u8]) -> bool {
    let data = skip_ws(data);
    HTML_TAGS.iter().any(|tag| {
        data.len() > tag.len()
            && data[..tag.len()].eq_ignore_ascii_case(tag)
            && matches!(data[tag.len()], b' ' | b'>')
    })
}

/// MP4: an `ftyp` box whose brands include one starting with `mp4`.
fn mp4_match(data: &[u8]) -> bool {
    if data.len() < 12 {
        return false;
    }
    let box_size = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
    if data.len() < box_size || !box_size.is_multiple_of(4) || &data[4..8] != b"ftyp" {
        return false;
    }
    (8..box_size)
        .step_by(4)
        .filter(|&st| st != 12)
        .any(|st| data.len() >= st + 3 && &data[st..st + 3] == b"mp4")
}

fn looks_binary(data: &[u8]) -> bool {
    data.iter()
        .any(|b| matches!(b, 0x00..=0x08 | 0x0B | 0x0E..=0x1A | 0x1C..=0x1F))
}

/// Go's `http.DetectContentType` on the first [`SNIFF_LEN`] bytes.
pub(crate) fn sniff(data: &[u8]) -> &'static str {
    let data = &data[..data.len().min(SNIFF_LEN)];
    if html_match(data) {
        return "text/html; charset=utf-8";
    }
    if let Some(m) = MASKED.iter().find(|m| masked_match(m, data)) {
        return m.ct;
    }
    if mp4_match(data) {
        return "video/mp4";
    }
    if looks_binary(data) {
        "application/octet-stream"
    } else {
        "text/plain; charset=utf-8"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_like_go() {
        assert_eq!(sniff(b""), "text/plain; charset=utf-8");
        assert_eq!(sniff(b"hello"), "text/plain; charset=utf-8");
        assert_eq!(sniff(b"  <html><body>"), "text/html; charset=utf-8");
        assert_eq!(sniff(b"<!doctype html>"), "text/html; charset=utf-8");
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0"), "image/png");
        assert_eq!(sniff(b"\xff\xd8\xff\xe0"), "image/jpeg");
        assert_eq!(sniff(b"%PDF-1.7"), "application/pdf");
        assert_eq!(sniff(b"\x00\x01\x02"), "application/octet-stream");
        assert_eq!(sniff(b"\x1f\x8b\x08\x00"), "application/x-gzip");
        assert_eq!(sniff(b"\0asm\x01\0\0\0"), "application/wasm");
    }

    #[test]
    fn extension_first() {
        assert_eq!(content_type(Some("a.png"), b"text"), "image/png");
        assert_eq!(
            content_type(Some("index.html"), b""),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            content_type(Some("noext"), b"plain"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(content_type(None, b"GIF89a..."), "image/gif");
    }
}
