//! Streaming reader for CloudTrail files: an S3 log file (`{"Records":[...]}`), a saved
//! `LookupEvents` response (`{"Events":[...]}`), a JSON array or JSON lines; gzip or plain
//! (detected from the magic bytes).
//!
//! Memory stays flat: one element is buffered at a time, and never more than
//! [`MAX_RECORD_BYTES`] of it. Bad elements are skipped and counted ([`RecordStream::skipped`]);
//! only an I/O error (e.g. a truncated gzip member) ends the stream early.

use std::io::{self, BufRead, BufReader, Read};

use super::parse::{RecordError, SkipCounts, SkipReason, parse_any, parse_record};
use super::record::{CloudTrailRecord, MAX_RECORD_BYTES};

/// Skips are logged individually up to this many, then only counted.
const LOGGED_SKIPS: u64 = 20;
const SNIFF_BYTES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `{"Records":[ {record}, ... ]}`: elements are records, at nesting depth 2.
    Records,
    /// `{"Events":[ {CloudTrailEvent:"..."}, ... ]}`: elements are LookupEvents events.
    Events,
    /// `[ {...}, ... ]`
    Array,
    /// `{...}\n{...}\n`
    Lines,
}

impl Layout {
    fn element_depth(self) -> u32 {
        match self {
            Layout::Records | Layout::Events => 2,
            Layout::Array => 1,
            Layout::Lines => 0,
        }
    }
}

/// An iterator of records read from a file-like source.
pub struct RecordStream {
    reader: Box<dyn BufRead + Send>,
    layout: Layout,
    depth: u32,
    in_string: bool,
    escaped: bool,
    capturing: bool,
    oversize: bool,
    element: Vec<u8>,
    records: u64,
    skipped: SkipCounts,
    done: bool,
}

impl RecordStream {
    /// Reads the first bytes to detect gzip and the layout.
    pub fn open(reader: impl Read + Send + 'static) -> io::Result<Self> {
        let mut reader: Box<dyn Read + Send> = Box::new(reader);
        let head = read_up_to(&mut reader, 2)?;
        let gzip = head.starts_with(&[0x1f, 0x8b]);
        let rejoined = io::Cursor::new(head).chain(reader);
        let mut reader: Box<dyn Read + Send> = if gzip {
            Box::new(flate2::read::MultiGzDecoder::new(rejoined))
        } else {
            Box::new(rejoined)
        };
        let sniff = read_up_to(&mut reader, SNIFF_BYTES)?;
        let layout = detect_layout(&sniff);
        let reader = BufReader::with_capacity(64 * 1024, io::Cursor::new(sniff).chain(reader));
        Ok(RecordStream {
            reader: Box::new(reader),
            layout,
            depth: 0,
            in_string: false,
            escaped: false,
            capturing: false,
            oversize: false,
            element: Vec::with_capacity(16 * 1024),
            records: 0,
            skipped: SkipCounts::default(),
            done: false,
        })
    }

    /// Records yielded so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Elements skipped so far, by reason.
    pub fn skipped(&self) -> SkipCounts {
        self.skipped
    }

    fn skip(&mut self, err: &RecordError) {
        self.skipped.add(err.reason);
        let n = self.skipped.total();
        if n <= LOGGED_SKIPS {
            tracing::warn!(reason = err.reason.as_str(), detail = %err.detail, skipped = n, "skipping CloudTrail record");
        }
    }

    /// Scans forward to the end of the next element; `Ok(false)` at end of input.
    fn next_element(&mut self) -> io::Result<bool> {
        let target = self.layout.element_depth();
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                if self.capturing {
                    // Input ended inside an element.
                    self.capturing = false;
                    self.skipped.add(SkipReason::Malformed);
                }
                return Ok(false);
            }
            let mut consumed = chunk.len();
            let mut complete = false;
            let mut start = if self.capturing { Some(0) } else { None };
            let mut i = 0;
            while i < chunk.len() {
                if self.in_string {
                    if self.escaped {
                        self.escaped = false;
                        i += 1;
                        continue;
                    }
                    // Jump to the next quote or backslash: most bytes of a record are in strings.
                    match chunk[i..].iter().position(|&c| c == b'"' || c == b'\\') {
                        Some(off) => {
                            i += off;
                            if chunk[i] == b'"' {
                                self.in_string = false;
                            } else {
                                self.escaped = true;
                            }
                            i += 1;
                        }
                        None => i = chunk.len(),
                    }
                    continue;
                }
                let b = chunk[i];
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => {
                        if b == b'{' && self.depth == target && !self.capturing {
                            self.capturing = true;
                            self.oversize = false;
                            self.element.clear();
                            start = Some(i);
                        }
                        self.depth += 1;
                    }
                    b'}' | b']' => {
                        self.depth = self.depth.saturating_sub(1);
                        if self.capturing && self.depth == target {
                            consumed = i + 1;
                            complete = true;
                            break;
                        }
                        if self.depth + 1 == target && self.layout != Layout::Lines && b == b']' {
                            // The records array closed: nothing after it is a record.
                            self.done = true;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            if let Some(from) = start {
                let piece = &chunk[from..consumed];
                if self.element.len() + piece.len() > MAX_RECORD_BYTES {
                    self.oversize = true;
                    self.element.clear();
                } else if !self.oversize {
                    self.element.extend_from_slice(piece);
                }
            }
            self.reader.consume(consumed);
            if complete {
                self.capturing = false;
                return Ok(true);
            }
            if self.done {
                return Ok(false);
            }
        }
    }
}

impl Iterator for RecordStream {
    type Item = io::Result<CloudTrailRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match self.next_element() {
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok(false) => self.done = true,
                Ok(true) => {
                    let parsed = if self.oversize {
                        Err(RecordError::new(
                            SkipReason::Oversize,
                            format!("over {MAX_RECORD_BYTES} bytes"),
                        ))
                    } else if self.layout == Layout::Records {
                        parse_record(&self.element)
                    } else {
                        parse_any(&self.element)
                    };
                    match parsed {
                        Ok(record) => {
                            self.records += 1;
                            return Some(Ok(record));
                        }
                        Err(e) => self.skip(&e),
                    }
                }
            }
        }
        None
    }
}

fn read_up_to(reader: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(n);
    reader.take(n as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

fn detect_layout(head: &[u8]) -> Layout {
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if trimmed.starts_with('[') {
        return Layout::Array;
    }
    let Some(rest) = trimmed.strip_prefix('{') else {
        return Layout::Lines;
    };
    let rest = rest.trim_start();
    for (key, layout) in [
        ("\"Records\"", Layout::Records),
        ("\"Events\"", Layout::Events),
    ] {
        if let Some(after) = rest.strip_prefix(key)
            && after
                .trim_start()
                .strip_prefix(':')
                .is_some_and(|v| v.trim_start().starts_with('['))
        {
            return layout;
        }
    }
    Layout::Lines
}
