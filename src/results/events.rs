//! `events.jsonl`: the append-only log of what happened to a sweep's runs, one JSON object a
//! line, schema-versioned. Owns the schema (written by `exec::events`, read by
//! `report::watch`), the RFC 3339 timestamps and the safe append.
//!
//! Several processes (shards, Slurm array tasks) append to one file: it is opened with
//! `O_APPEND` and never truncated, each line goes out in one `write` call (so lines from
//! different processes never interleave on a local filesystem), and a symlink is refused,
//! not followed.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) const EVENTS_FILE: &str = "events.jsonl";
/// The `schema` field of every line; a reader skips lines of another schema.
pub(crate) const SCHEMA: u32 = 1;
/// The longest line written (bytes, newline included).
pub(crate) const MAX_LINE_BYTES: usize = 4096;
/// The longest text field kept in a line (bytes of its JSON form): a failure's message, a
/// run id, a sweep name.
const MAX_FIELD_BYTES: usize = 512;
/// Runs of at most this many epochs log every epoch; longer runs log every
/// ⌈epochs / this⌉-th epoch and their last, so that a run never writes more than about
/// this many `epoch` lines, however long it trains.
pub(crate) const EPOCH_LINES_PER_RUN: usize = 100;

/// One line of `events.jsonl` (and of `--message-format json` on stdout).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Line {
    pub schema: u32,
    #[serde(flatten)]
    pub event: Event,
    /// RFC 3339, UTC, milliseconds: `2026-12-01T15:40:59.123Z`.
    pub time: String,
    /// The process that wrote the line (shards of one sweep write to one file).
    pub pid: u32,
}

/// What happened; the `event` field names the kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub(crate) enum Event {
    /// A process starts its part of the sweep.
    Plan {
        sweep: String,
        /// Runs and configurations of the whole plan.
        runs: usize,
        configurations: usize,
        /// This process's shard `K/N`, if any.
        shard: Option<String>,
        /// Runs this process will try to train (its shard's unfinished ones).
        todo: usize,
    },
    Started {
        run: String,
        epochs: usize,
    },
    /// An epoch ended; `None` where the set is empty or was not evaluated that epoch.
    Epoch {
        run: String,
        epoch: usize,
        train_loss: Option<f64>,
        train_acc: Option<f64>,
        valid_loss: Option<f64>,
        valid_acc: Option<f64>,
    },
    Finished {
        run: String,
        /// `done`, `diverged`, `failed`, or `pruned` (successive halving: its configuration ranked
        /// out at a rung; `epoch` is the rung's).
        state: String,
        /// Epochs trained.
        epoch: usize,
        seconds: f64,
        /// Why it diverged or failed (empty for `done`).
        message: String,
    },
    /// Claimed or finished by another process: this one leaves it alone.
    Skipped {
        run: String,
    },
    /// Successive halving: the run reached its rung, state saved; it continues (a later
    /// `started`) if its configuration is kept, or ends `pruned`.
    Paused {
        run: String,
        epoch: usize,
    },
    /// Stopped by SIGUSR1 (Slurm's warning before the time limit), state saved: the same command
    /// resumes it (a later `started`).
    Suspended {
        run: String,
    },
}

impl Line {
    /// `event` now, from this process.
    pub fn now(event: Event) -> Line {
        Line { schema: SCHEMA, event, time: rfc3339(SystemTime::now()), pid: std::process::id() }
    }

    /// The line's JSON and a newline, at most [`MAX_LINE_BYTES`]: every free-text field (run
    /// id, sweep name, message) is cut to [`MAX_FIELD_BYTES`], and a line has at most four.
    pub(crate) fn to_json(&self) -> String {
        let mut line = self.clone();
        match &mut line.event {
            Event::Plan { sweep, shard, .. } => {
                cut(sweep);
                if let Some(shard) = shard {
                    cut(shard);
                }
            }
            Event::Started { run, .. }
            | Event::Epoch { run, .. }
            | Event::Skipped { run }
            | Event::Paused { run, .. }
            | Event::Suspended { run } => cut(run),
            Event::Finished { run, state, message, .. } => {
                cut(run);
                cut(state);
                cut(message);
            }
        }
        let mut text = serde_json::to_string(&line).expect("events serialise");
        debug_assert!(text.len() < MAX_LINE_BYTES);
        text.push('\n');
        text
    }

    /// The line as an event of this schema, or `None` (another schema, or not one of ours).
    pub fn parse(text: &str) -> Option<Line> {
        let line: Line = serde_json::from_str(text).ok()?;
        (line.schema == SCHEMA).then_some(line)
    }
}

/// Cuts `s` at a character boundary so that its JSON form (escapes included) takes at most
/// [`MAX_FIELD_BYTES`].
fn cut(s: &mut String) {
    let mut width = 0;
    let end = s.char_indices().find_map(|(i, c)| {
        width += match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        };
        (width > MAX_FIELD_BYTES).then_some(i)
    });
    if let Some(end) = end {
        s.truncate(end);
    }
}

/// Whether epoch `epoch` of a run of `epochs` gets an `epoch` line (see [`EPOCH_LINES_PER_RUN`]).
pub(crate) fn epoch_logged(epoch: usize, epochs: usize) -> bool {
    let every = epochs.div_ceil(EPOCH_LINES_PER_RUN).max(1);
    epoch.is_multiple_of(every) || epoch >= epochs
}

/// `events.jsonl` opened for appending.
pub(crate) struct EventLog {
    file: File,
}

impl EventLog {
    /// Opens (creating) `root/events.jsonl` for appending: `O_APPEND`, never truncated, a
    /// symlink refused (`O_NOFOLLOW`), anything but a regular file refused.
    pub fn open(root: &Path) -> io::Result<EventLog> {
        let path = root.join(EVENTS_FILE);
        let mut options = OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let why = |e: io::Error| {
            let e = if e.raw_os_error() == Some(libc::ELOOP) {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "is a symlink; pinniped never follows one in a results directory",
                )
            } else {
                e
            };
            io::Error::new(e.kind(), format!("cannot append to {}: {e}", path.display()))
        };
        let file = options.open(&path).map_err(why)?;
        if !file.metadata().map_err(why)?.is_file() {
            return Err(why(io::Error::new(io::ErrorKind::InvalidInput, "is not a regular file")));
        }
        Ok(EventLog { file })
    }

    /// Appends one line in one `write` call.
    pub(crate) fn append(&mut self, json_line: &str) -> io::Result<()> {
        let n = self.file.write(json_line.as_bytes())?;
        if n != json_line.len() {
            // A short write (a full disk): the line is torn; readers skip it.
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short write to events.jsonl"));
        }
        Ok(())
    }
}

/// Reads the lines appended to `events.jsonl` since the last call: a reader that follows
/// a growing file, at most `max_bytes` per call (the rest comes next call).
#[derive(Debug, Default)]
pub(crate) struct Tail {
    offset: u64,
    /// Lines of this schema, in file order.
    pub lines: Vec<Line>,
    /// Lines that did not parse (torn by a full disk, or another schema).
    pub skipped: usize,
}

impl Tail {
    /// Reads what was appended to `root/events.jsonl` since the last call (nothing when the
    /// file does not exist yet); a symlink is refused.
    pub(crate) fn poll(&mut self, root: &Path, max_bytes: u64) -> io::Result<()> {
        let path = root.join(EVENTS_FILE);
        let mut file = match crate::fsx::open_own(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        };
        file.seek(SeekFrom::Start(self.offset))?;
        let mut bytes = Vec::new();
        file.take(max_bytes).read_to_end(&mut bytes)?;
        // Only whole lines: a line being written (or cut by `max_bytes`) is read next time.
        let Some(end) = bytes.iter().rposition(|&b| b == b'\n') else {
            if bytes.len() as u64 >= max_bytes && max_bytes > 0 {
                // One line longer than a whole read: no writer of ours makes it; skip it.
                self.offset += bytes.len() as u64;
                self.skipped += 1;
            }
            return Ok(());
        };
        for text in bytes[..end].split(|&b| b == b'\n') {
            match std::str::from_utf8(text).ok().and_then(Line::parse) {
                Some(line) => self.lines.push(line),
                None if text.iter().all(u8::is_ascii_whitespace) => {}
                None => self.skipped += 1,
            }
        }
        self.offset += end as u64 + 1;
        Ok(())
    }
}

/// `t` as RFC 3339 in UTC with milliseconds: `2026-12-01T15:40:59.123Z`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// The time [`rfc3339`] wrote (UTC, `Z`, optional fraction); `None` for other text.
pub(crate) fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<u64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let rest = text.get(19..)?.strip_suffix('Z')?;
    let nanos = match rest.strip_prefix('.') {
        None if rest.is_empty() => 0,
        Some(f) if (1..=9).contains(&f.len()) && f.bytes().all(|c| c.is_ascii_digit()) => {
            f.parse::<u64>().ok()? * 10u64.pow(9 - f.len() as u32)
        }
        _ => return None,
    };
    let days = days_from_civil(y as i64, mo as u32, d as u32);
    let secs = u64::try_from(days).ok()? * 86_400 + h * 3600 + mi * 60 + s;
    Some(UNIX_EPOCH + Duration::new(secs, nanos as u32))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_and_read_back() {
        // `date -u -d @1796139659 +%Y-%m-%dT%H:%M:%S` = 2026-12-01T15:40:59; 951782400 is the
        // leap day 2000-02-29 (GNU date).
        let t = UNIX_EPOCH + Duration::from_millis(1_796_139_659_123);
        assert_eq!(rfc3339(t), "2026-12-01T15:40:59.123Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(parse_rfc3339("2026-12-01T15:40:59.123Z"), Some(t));
        assert_eq!(parse_rfc3339("2026-12-01T15:40:59Z"), Some(UNIX_EPOCH + Duration::from_secs(1_796_139_659)));
        for bad in ["2026-12-01 15:40:59Z", "2026-13-01T15:40:59Z", "2026-12-01T15:40:59+01:00", "", "x"] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        // Every day of four centuries (leap years included) round-trips.
        for day in (-1_000i64..146_097).step_by(7) {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }

    #[test]
    fn lines_carry_the_schema_first_and_parse_back() {
        let line = Line::now(Event::Epoch {
            run: "hidden=8/rep-1".into(),
            epoch: 3,
            train_loss: Some(0.5),
            train_acc: Some(0.75),
            valid_loss: Some(f64::NAN),
            valid_acc: None,
        });
        let json = line.to_json();
        assert!(json.starts_with("{\"schema\":1,\"event\":\"epoch\",\"run\":\"hidden=8/rep-1\""), "{json}");
        assert!(json.ends_with('\n') && json.matches('\n').count() == 1);
        let back = Line::parse(json.trim_end()).unwrap();
        // A NaN loss is written as null.
        assert!(matches!(back.event, Event::Epoch { valid_loss: None, train_acc: Some(a), .. } if a == 0.75));
        assert_eq!(Line::parse(&json.replace("\"schema\":1", "\"schema\":2")), None);
    }

    #[test]
    fn a_long_failure_message_is_cut_to_the_line_bound() {
        let message = "é\u{1}\"".repeat(10_000);
        let line =
            Line::now(Event::Finished { run: "a".into(), state: "failed".into(), epoch: 0, seconds: 0.0, message });
        let json = line.to_json();
        assert!(json.len() <= MAX_LINE_BYTES, "{}", json.len());
        assert!(Line::parse(json.trim_end()).is_some());
    }

    #[test]
    fn the_epoch_cadence_bounds_lines_per_run_and_keeps_the_last() {
        assert!((1..=20).all(|e| epoch_logged(e, 20)));
        let logged = (1..=1000).filter(|&e| epoch_logged(e, 1000)).count();
        assert_eq!(logged, 100);
        // Every 11th of 1003 epochs, and the last.
        let logged: Vec<usize> = (1..=1003).filter(|&e| epoch_logged(e, 1003)).collect();
        assert_eq!(logged.len(), 1003 / 11 + 1);
        assert_eq!((logged[0], logged.last()), (11, Some(&1003)));
    }

    #[test]
    fn appends_never_truncate_and_the_tail_reads_only_whole_new_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(EVENTS_FILE);
        std::fs::write(&path, "not json\n").unwrap();
        let mut log = EventLog::open(dir.path()).unwrap();
        log.append(&Line::now(Event::Skipped { run: "a".into() }).to_json()).unwrap();
        let mut tail = Tail::default();
        tail.poll(dir.path(), 1 << 20).unwrap();
        assert_eq!((tail.lines.len(), tail.skipped), (1, 1));
        // Half a line (a writer mid-way): not read until it ends.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"schema\":1,\"event\":\"skipped\"").unwrap();
        tail.poll(dir.path(), 1 << 20).unwrap();
        assert_eq!(tail.lines.len(), 1);
        f.write_all(format!(",\"run\":\"b\",\"time\":\"{}\",\"pid\":1}}\n", rfc3339(SystemTime::now())).as_bytes())
            .unwrap();
        tail.poll(dir.path(), 1 << 20).unwrap();
        assert_eq!(tail.lines.len(), 2);
        assert!(matches!(&tail.lines[1].event, Event::Skipped { run } if run == "b"));
        assert!(std::fs::read_to_string(&path).unwrap().starts_with("not json\n"));
    }

    #[test]
    fn a_symlinked_log_is_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "keep me\n").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join(EVENTS_FILE)).unwrap();
        let e = EventLog::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("symlink"), "{e}");
        assert!(Tail::default().poll(dir.path(), 1 << 20).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
    }
}
