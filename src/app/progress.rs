//! A counter on stderr for long reads: shown only when stderr is a terminal, and only once
//! the work has taken more than a second (short runs stay quiet).

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Ticker {
    bar: ProgressBar,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Ticker {
    /// Starts counting `done` (of `total`, when known) with an indicatif `template`.
    pub fn start(template: &str, total: Option<u64>, done: Arc<AtomicUsize>) -> Ticker {
        // Created now, so that its elapsed time counts from the start of the work.
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::hidden()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()),
        }
        .with_style(ProgressStyle::with_template(template).expect("a valid template"));
        let task = std::io::stderr().is_terminal().then(|| {
            let bar = bar.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                bar.set_draw_target(ProgressDrawTarget::stderr());
                loop {
                    bar.set_position(done.load(Ordering::Relaxed) as u64);
                    bar.tick();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        });
        Ticker { bar, task }
    }

    /// Stops and clears the counter's line.
    pub async fn stop(self) {
        if let Some(t) = self.task {
            t.abort();
            let _ = t.await;
        }
        self.bar.finish_and_clear();
    }
}
