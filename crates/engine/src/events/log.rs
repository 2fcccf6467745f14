//! The daemon's event log: every emitted event goes to the live subscribers (a broadcast
//! channel) and into a ring of the last 256 (Docker keeps as many), which `since` replays.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::Event;
use crate::lock;

/// How many past events `since` can replay (Docker's `eventsLimit`).
const KEEP: usize = 256;

/// The daemon's event log.
pub struct Events {
    tx: broadcast::Sender<Arc<Event>>,
    recent: Mutex<VecDeque<Arc<Event>>>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            tx: broadcast::channel(1024).0,
            recent: Mutex::new(VecDeque::with_capacity(KEEP)),
        }
    }
}

impl Events {
    /// Record `e` and send it to every subscriber.
    pub fn emit(&self, e: Event) {
        let e = Arc::new(e);
        {
            let mut recent = lock(&self.recent);
            if recent.len() == KEEP {
                recent.pop_front();
            }
            recent.push_back(Arc::clone(&e));
        }
        // No subscriber is not an error.
        let _ = self.tx.send(e);
    }

    /// The kept events at or after `since` (nanoseconds), and a receiver for the ones to
    /// come, taken together so none falls between.
    pub fn subscribe(
        &self,
        since: Option<i128>,
    ) -> (Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>) {
        let recent = lock(&self.recent);
        let rx = self.tx.subscribe();
        let past = match since {
            Some(t) => recent
                .iter()
                .filter(|e| e.time_nano >= t)
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        (past, rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::tests::ev;

    #[test]
    fn since_replays_the_kept_events() {
        let events = Events::default();
        for i in 0..300 {
            let mut e = ev("container", "start", "x", &[]);
            e.time_nano = i;
            events.emit(e);
        }
        let (past, _rx) = events.subscribe(Some(0));
        assert_eq!(past.len(), KEEP);
        assert_eq!(past[0].time_nano, 300 - KEEP as i128);
        let (past, _rx) = events.subscribe(Some(290));
        assert_eq!(past.len(), 10);
        let (past, _rx) = events.subscribe(None);
        assert!(past.is_empty());
    }
}
