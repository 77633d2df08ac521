//! Progress on stderr, only when stderr is a terminal and `--quiet` was not given.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress display that may be switched off; every method is a no-op then.
pub struct Progress {
    /// The display; `None` when it is switched off.
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Whether progress may be shown at all.
    pub fn wanted(quiet: bool) -> bool {
        !quiet && std::io::stderr().is_terminal()
    }

    /// A spinner with `message`, ticking on its own.
    pub fn spinner(show: bool, message: &str) -> Progress {
        let bar = show.then(|| {
            let bar = ProgressBar::new_spinner().with_message(message.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress { bar }
    }

    /// A bar over `total` bytes (a spinner counting bytes when the total is unknown).
    pub fn bytes(show: bool, message: &str, total: Option<u64>) -> Progress {
        let bar = show.then(|| {
            let bar = if let Some(total) = total {
                let bar = ProgressBar::new(total);
                if let Ok(style) =
                    ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
                {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar
            } else {
                let bar = ProgressBar::new_spinner();
                if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {bytes}") {
                    bar.set_style(style);
                }
                bar
            };
            bar.set_message(message.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress { bar }
    }

    /// Sets the position (and the total, when it is learnt late).
    pub fn set(&self, position: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(position);
        }
    }

    /// Moves the position on by `n`.
    pub fn add(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    /// Removes the display.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A writer that counts the bytes through it onto a [`Progress`].
pub struct CountingWriter<'p, W> {
    /// The writer underneath.
    pub inner: W,
    /// Where the count goes.
    pub progress: &'p Progress,
}

impl<W: Write> Write for CountingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.progress.add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A buffered reader that counts the bytes consumed onto a [`Progress`].
pub struct CountingReader<'p, R> {
    /// The reader underneath.
    pub inner: R,
    /// Where the count goes.
    pub progress: &'p Progress,
}

impl<R: BufRead> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.add(n as u64);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for CountingReader<'_, R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
        self.progress.add(amount as u64);
    }
}
