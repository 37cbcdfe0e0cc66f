//! A message the SMTP sink accepted, with what tests read from it: envelope, headers
//! (unfolded), and the decoded text of a MIME part (7bit, quoted-printable or base64).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    /// `MAIL FROM` address.
    pub mail_from: String,
    /// `RCPT TO` addresses.
    pub rcpt_to: Vec<String>,
    /// The message as transmitted (CRLF line ends, dot-stuffing undone).
    pub raw: String,
}

impl Received {
    pub fn new(mail_from: String, rcpt_to: Vec<String>, data: Vec<u8>) -> Received {
        Received {
            mail_from,
            rcpt_to,
            raw: String::from_utf8_lossy(&data).into_owned(),
        }
    }

    fn split(text: &str) -> (&str, &str) {
        text.split_once("\r\n\r\n")
            .or_else(|| text.split_once("\n\n"))
            .unwrap_or((text, ""))
    }

    /// The first header `name` (case-insensitive) of the message, unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        header_in(Self::split(&self.raw).0, name)
    }

    /// `Message-ID`.
    pub fn message_id(&self) -> Option<String> {
        self.header("Message-ID")
    }

    /// The decoded body of the first MIME part whose `Content-Type` starts with
    /// `content_type` (e.g. `text/plain`), searching nested multiparts.
    pub fn part(&self, content_type: &str) -> Option<String> {
        find_part(&self.raw, content_type)
    }
}

fn header_in(headers: &str, name: &str) -> Option<String> {
    let mut found: Option<String> = None;
    for line in headers.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(value) = found.as_mut() {
            if line.starts_with(' ') || line.starts_with('\t') {
                value.push(' ');
                value.push_str(line.trim());
                continue;
            }
            break;
        }
        if let Some((n, v)) = line.split_once(':')
            && n.eq_ignore_ascii_case(name)
        {
            found = Some(v.trim().to_owned());
        }
    }
    found
}

/// The `boundary` parameter of a multipart `Content-Type`.
fn boundary(content_type: &str) -> Option<String> {
    let at = content_type.to_ascii_lowercase().find("boundary=")?;
    let value = &content_type[at + "boundary=".len()..];
    let value = value.split(';').next()?.trim().trim_matches('"');
    Some(value.to_owned())
}

fn find_part(entity: &str, wanted: &str) -> Option<String> {
    let (headers, body) = Received::split(entity);
    let content_type = header_in(headers, "Content-Type").unwrap_or_else(|| "text/plain".into());
    if content_type.to_ascii_lowercase().starts_with("multipart/") {
        let boundary = boundary(&content_type)?;
        let delimiter = format!("--{boundary}");
        return body
            .split(delimiter.as_str())
            .skip(1)
            .take_while(|p| !p.starts_with("--"))
            .find_map(|part| find_part(part.trim_start_matches("\r\n"), wanted));
    }
    if !content_type.to_ascii_lowercase().starts_with(wanted) {
        return None;
    }
    let encoding = header_in(headers, "Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let body = body.trim_end_matches("\r\n");
    Some(match encoding.as_str() {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            String::from_utf8_lossy(&STANDARD.decode(compact).unwrap_or_default()).into_owned()
        }
        "quoted-printable" => quoted_printable(body),
        _ => body.replace("\r\n", "\n"),
    })
}

/// Decodes quoted-printable (soft line breaks `=\r\n`, `=XX` bytes) into UTF-8 text.
fn quoted_printable(body: &str) -> String {
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes[i + 1..].starts_with(b"\r\n") => i += 3,
            b'=' if bytes[i + 1..].starts_with(b"\n") => i += 2,
            b'=' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => out.push(b),
                    Err(_) => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
            }
            b'\r' if bytes[i + 1..].starts_with(b"\n") => {
                out.push(b'\n');
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_and_folded_headers_are_decoded() {
        let raw = "Subject: a\r\n long one\r\nContent-Type: multipart/alternative;\r\n boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHall=C3=B6 =\r\nwelt\r\n--b1\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\nPGI+aGk8L2I+\r\n--b1--\r\n";
        let m = Received::new("a@x".into(), vec!["b@y".into()], raw.as_bytes().to_vec());
        assert_eq!(m.header("subject").unwrap(), "a long one");
        assert_eq!(m.part("text/plain").unwrap(), "Hallö welt");
        assert_eq!(m.part("text/html").unwrap(), "<b>hi</b>");
    }
}
