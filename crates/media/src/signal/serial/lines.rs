//! Text lines of numbers: `512,498`, `512 498`, `512;498`, tab-separated, or Arduino Serial
//! Plotter style `a0:512 a1:498` (a `label:` prefix is ignored). One line is one sample per
//! channel. A line with the wrong number of values, a value that is not a finite number,
//! invalid UTF-8 or a line longer than `max_line` bytes is counted as malformed and skipped;
//! empty lines are ignored.

use super::Counters;

/// Splits a byte stream into lines and parses each into one row of `channels` values.
pub(crate) struct LineParser {
    channels: usize,
    max_line: usize,
    /// Unparsed bytes are `buf[start..]`.
    buf: Vec<u8>,
    start: usize,
    /// Skipping the rest of an overlong line, or the partial first line after opening.
    discarding: bool,
}

impl LineParser {
    pub(crate) fn new(channels: usize, max_line: usize, skip_first_line: bool) -> Self {
        Self {
            channels,
            max_line,
            buf: Vec::with_capacity(max_line * 2 + 4096),
            start: 0,
            discarding: skip_first_line,
        }
    }

    /// Starts over after the device was reopened (the first line may be partial again).
    pub(crate) fn reset(&mut self, skip_first_line: bool) {
        self.buf.clear();
        self.start = 0;
        self.discarding = skip_first_line;
    }

    /// Appends received bytes (no allocation once the buffer has grown to its working size).
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete, valid row written into `row`; `false` when more bytes are needed.
    pub(crate) fn next_row(&mut self, row: &mut [f32], counters: &Counters) -> bool {
        loop {
            let rest = &self.buf[self.start..];
            let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                if rest.len() > self.max_line {
                    // An overlong line: count it once, drop what came so far, skip to its end.
                    if !self.discarding {
                        counters.malformed("line longer than max_line", rest);
                    }
                    self.discarding = true;
                    self.start = self.buf.len();
                }
                return false;
            };
            let line_start = self.start;
            self.start += nl + 1;
            if std::mem::take(&mut self.discarding) {
                continue;
            }
            let line = &self.buf[line_start..line_start + nl];
            if line.len() > self.max_line {
                counters.malformed("line longer than max_line", line);
                continue;
            }
            match parse_line(line, &mut row[..self.channels]) {
                Ok(true) => return true,
                Ok(false) => {}
                Err(why) => counters.malformed(why, line),
            }
        }
    }
}

/// Parses one line into `row`: `Ok(false)` for a blank line.
fn parse_line(line: &[u8], row: &mut [f32]) -> Result<bool, &'static str> {
    let text = std::str::from_utf8(line).map_err(|_| "not UTF-8")?.trim();
    if text.is_empty() {
        return Ok(false);
    }
    let csv = text.contains([',', ';']);
    let mut n = 0;
    let mut put = |field: &str| -> Result<(), &'static str> {
        let field = field.trim();
        let value = field.rsplit(':').next().unwrap_or(field).trim();
        if value.is_empty() {
            return Err("empty field");
        }
        let v: f32 = value.parse().map_err(|_| "not a number")?;
        if !v.is_finite() {
            return Err("not a finite number");
        }
        if n >= row.len() {
            return Err("more values than channels");
        }
        row[n] = v;
        n += 1;
        Ok(())
    };
    if csv {
        text.split([',', ';']).try_for_each(&mut put)?;
    } else {
        text.split_ascii_whitespace().try_for_each(&mut put)?;
    }
    if n < row.len() {
        return Err("fewer values than channels");
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(p: &mut LineParser, c: &Counters, ch: usize) -> Vec<Vec<f32>> {
        let mut out = Vec::new();
        let mut row = vec![0.0; ch];
        while p.next_row(&mut row, c) {
            out.push(row.clone());
        }
        out
    }

    #[test]
    fn separators_labels_and_bad_lines() {
        let c = Counters::default();
        let mut p = LineParser::new(2, 64, false);
        p.push(b"1,2\r\n3 4\n5;6\n\t7\t8\n a:9 b:10\n\n11,\n12,x\n1,2,3\n4\nnan,1\n\xff,1\n13,1");
        assert_eq!(
            rows(&mut p, &c, 2),
            vec![
                vec![1.0, 2.0],
                vec![3.0, 4.0],
                vec![5.0, 6.0],
                vec![7.0, 8.0],
                vec![9.0, 10.0]
            ]
        );
        assert_eq!(c.malformed.load(std::sync::atomic::Ordering::Relaxed), 6);
        p.push(b"4\n");
        assert_eq!(rows(&mut p, &c, 2), vec![vec![13.0, 14.0]]);
    }

    #[test]
    fn skips_first_partial_line_and_overlong_lines() {
        let c = Counters::default();
        let mut p = LineParser::new(1, 8, true);
        p.push(b"23\n1\n");
        p.push(&[b'9'; 20]);
        p.push(b"9\n2\n");
        assert_eq!(rows(&mut p, &c, 1), vec![vec![1.0], vec![2.0]]);
        assert_eq!(c.malformed.load(std::sync::atomic::Ordering::Relaxed), 1);
    }
}
