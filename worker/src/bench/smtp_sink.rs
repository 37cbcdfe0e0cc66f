//! An in-process SMTP server that receives mail for tests and the `bench messages` command:
//! tokio, plain TCP on 127.0.0.1, enough ESMTP for a real client (EHLO/HELO, MAIL, RCPT, DATA
//! with dot-unstuffing, RSET, NOOP, QUIT). It records every accepted message raw and can be
//! scripted to refuse chosen recipients for good (5xx) or for their first attempts (4xx).
//! Part of every build because the bench is an operator command; it never listens unless
//! started.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub use super::received::Received;

/// Largest message accepted (the SIZE advertised).
const MAX_MESSAGE: usize = 10 * 1024 * 1024;

/// A scripted answer to `RCPT TO` for one recipient.
#[derive(Debug, Clone)]
struct Rule {
    reply: String,
    /// How many more times to answer with `reply` (`None`: always).
    remaining: Option<usize>,
}

#[derive(Default)]
struct Shared {
    messages: Mutex<Vec<Received>>,
    rules: Mutex<HashMap<String, Rule>>,
    accepted: AtomicUsize,
    connections: AtomicUsize,
    keep: bool,
    /// Milliseconds to wait before accepting a message (a slow server).
    delay_ms: AtomicUsize,
}

/// A running sink; stops listening when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    /// Listens on 127.0.0.1 on a free port and keeps every message.
    pub async fn start() -> std::io::Result<SmtpSink> {
        Self::start_with(true).await
    }

    /// Like [`SmtpSink::start`]; with `keep = false` only counts messages (benchmarks).
    pub async fn start_with(keep: bool) -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            keep,
            ..Shared::default()
        });
        let accept_shared = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = accept_shared.clone();
                shared.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    let _ = session(stream, shared).await;
                });
            }
        });
        Ok(SmtpSink { addr, shared, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `smtp://127.0.0.1:<port>`: the `SMTP_URL` of this sink.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Answers `RCPT TO:<recipient>` with `reply` (e.g. `550 5.1.1 user unknown`) from now on.
    pub fn reject(&self, recipient: &str, reply: &str) {
        self.rule(recipient, reply, None);
    }

    /// Answers `RCPT TO:<recipient>` with `reply` (e.g. `451 4.3.0 try later`) the next
    /// `times` times, then accepts it.
    pub fn defer(&self, recipient: &str, times: usize, reply: &str) {
        self.rule(recipient, reply, Some(times));
    }

    fn rule(&self, recipient: &str, reply: &str, remaining: Option<usize>) {
        let mut rules = self.shared.rules.lock().unwrap_or_else(|p| p.into_inner());
        rules.insert(
            recipient.to_ascii_lowercase(),
            Rule {
                reply: reply.to_owned(),
                remaining,
            },
        );
    }

    /// Waits `delay` after each message's data before accepting it, like a busy server.
    pub fn set_delay(&self, delay: Duration) {
        let ms = usize::try_from(delay.as_millis()).unwrap_or(usize::MAX);
        self.shared.delay_ms.store(ms, Ordering::Relaxed);
    }

    /// Messages accepted so far (all of them, also when not kept).
    pub fn count(&self) -> usize {
        self.shared.accepted.load(Ordering::Acquire)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Every kept message, in the order they were accepted.
    pub fn received(&self) -> Vec<Received> {
        self.shared
            .messages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits until at least `n` messages were accepted; `None` after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Option<Vec<Received>> {
        let start = Instant::now();
        while self.count() < n {
            if start.elapsed() > timeout {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Some(self.received())
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpSink({}, {} accepted)", self.addr, self.count())
    }
}

/// The scripted reply for `recipient`, if any (consuming one of a limited rule's uses).
fn scripted(shared: &Shared, recipient: &str) -> Option<String> {
    let mut rules = shared.rules.lock().unwrap_or_else(|p| p.into_inner());
    let rule = rules.get_mut(&recipient.to_ascii_lowercase())?;
    match rule.remaining {
        None => Some(rule.reply.clone()),
        Some(0) => None,
        Some(ref mut n) => {
            *n -= 1;
            Some(rule.reply.clone())
        }
    }
}

/// The address inside `MAIL FROM:<a>` / `RCPT TO:<a>` (parameters after it ignored).
fn address(arg: &str) -> Option<String> {
    let start = arg.find('<')?;
    let end = arg[start..].find('>')? + start;
    Some(arg[start + 1..end].to_owned())
}

async fn session(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut out = BufWriter::new(write);
    let reply = async |out: &mut BufWriter<_>, text: &str| -> std::io::Result<()> {
        out.write_all(text.as_bytes()).await?;
        out.write_all(b"\r\n").await?;
        out.flush().await
    };
    reply(&mut out, "220 fieldwork-sink ESMTP ready").await?;
    let mut from: Option<String> = None;
    let mut rcpts: Vec<String> = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        let (verb, arg) = text.split_once(' ').unwrap_or((text, ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                reply(
                    &mut out,
                    "250-fieldwork-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760",
                )
                .await?
            }
            "HELO" => reply(&mut out, "250 fieldwork-sink").await?,
            "MAIL" => {
                from = address(arg);
                rcpts.clear();
                reply(&mut out, "250 2.1.0 Ok").await?;
            }
            "RCPT" => match (address(arg), &from) {
                (Some(to), Some(_)) => match scripted(&shared, &to) {
                    Some(scripted) => reply(&mut out, &scripted).await?,
                    None => {
                        rcpts.push(to);
                        reply(&mut out, "250 2.1.5 Ok").await?;
                    }
                },
                _ => reply(&mut out, "503 5.5.1 MAIL first").await?,
            },
            "DATA" if rcpts.is_empty() => reply(&mut out, "503 5.5.1 RCPT first").await?,
            "DATA" => {
                reply(&mut out, "354 End data with <CR><LF>.<CR><LF>").await?;
                let data = read_data(&mut reader).await?;
                let Some(data) = data else {
                    reply(&mut out, "552 5.3.4 Message too big").await?;
                    continue;
                };
                let delay = shared.delay_ms.load(Ordering::Relaxed);
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay as u64)).await;
                }
                let n = shared.accepted.fetch_add(1, Ordering::AcqRel) + 1;
                if shared.keep {
                    let message = Received::new(
                        from.take().unwrap_or_default(),
                        std::mem::take(&mut rcpts),
                        data,
                    );
                    shared
                        .messages
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(message);
                }
                from = None;
                rcpts.clear();
                reply(&mut out, &format!("250 2.0.0 Ok: queued as {n}")).await?;
            }
            "RSET" => {
                from = None;
                rcpts.clear();
                reply(&mut out, "250 2.0.0 Ok").await?;
            }
            "NOOP" => reply(&mut out, "250 2.0.0 Ok").await?,
            "VRFY" => reply(&mut out, "252 2.1.5 Cannot verify").await?,
            "QUIT" => {
                reply(&mut out, "221 2.0.0 Bye").await?;
                return Ok(());
            }
            _ => reply(&mut out, "500 5.5.2 Command not recognized").await?,
        }
    }
}

/// Reads DATA up to the lone dot, undoing dot-stuffing; `None` if it is too big (the rest is
/// still read, so the session stays in step).
async fn read_data<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    let mut too_big = false;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok((!too_big).then_some(data));
        }
        let content = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        if data.len() + content.len() > MAX_MESSAGE {
            too_big = true;
        } else {
            data.extend_from_slice(content);
        }
    }
}
