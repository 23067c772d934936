//! "At least N distinct things by one principal within any window of length W", computed
//! exactly, in any event order, with memory bounded by the time span rather than the events.
//!
//! Per bucket `k = floor(t / W)` we keep each thing's first and last time. A window starting at
//! `s` in bucket `k` contains thing `x` iff `last_k(x) >= s` or `first_{k+1}(x) <= s + W`, so
//! trying every `s = last_k(x)` finds the best window.
//!
//! Memory: every source is time-ordered (S3 files oldest first, `LookupEvents` newest first),
//! so once the stream has moved two buckets past a bucket, that bucket is evaluated and
//! dropped; state then covers a few buckets whatever the span. Events arriving later than that
//! (out of order by more than a window) are still counted but can miss a burst formed with the
//! dropped data; [`DistinctInWindow::late_events`] says how many there were.

use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone)]
struct Span {
    first: i64,
    first_event: String,
    last: i64,
    last_event: String,
}

#[derive(Debug, Default)]
struct Bucket {
    items: HashMap<String, Span>,
    evaluated: bool,
}

#[derive(Debug, Default)]
struct PrincipalState {
    buckets: BTreeMap<i64, Bucket>,
    /// Bursts in consecutive buckets, reported as one (an "episode"), so the result does not
    /// depend on the order buckets are evaluated in.
    run: Vec<Burst>,
}

impl PrincipalState {
    fn extend_run(&mut self, burst: Burst, found: &mut Vec<Burst>) {
        let adjacent = self
            .run
            .last()
            .is_some_and(|b| (b.bucket - burst.bucket).abs() == 1);
        if !adjacent {
            self.close_run(found);
        }
        self.run.push(burst);
    }

    fn close_run(&mut self, found: &mut Vec<Burst>) {
        let mut run = std::mem::take(&mut self.run).into_iter();
        let Some(mut merged) = run.next() else { return };
        for b in run {
            merged.start = merged.start.min(b.start);
            merged.end = merged.end.max(b.end);
            merged.bucket = merged.bucket.min(b.bucket);
            for (item, id) in b.items.into_iter().zip(b.event_ids) {
                if !merged.items.contains(&item) {
                    merged.items.push(item);
                    merged.event_ids.push(id);
                }
            }
        }
        let mut pairs: Vec<_> = merged
            .items
            .drain(..)
            .zip(merged.event_ids.drain(..))
            .collect();
        pairs.sort();
        (merged.items, merged.event_ids) = pairs.into_iter().unzip();
        found.push(merged);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Unknown,
    Ascending,
    Descending,
}

/// A window in which a principal touched at least the threshold number of distinct things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Burst {
    pub principal: String,
    /// Unix seconds of the window's first and last counted events.
    pub start: i64,
    pub end: i64,
    pub items: Vec<String>,
    pub event_ids: Vec<String>,
    /// Bucket index: a stable name for the window across runs.
    pub bucket: i64,
}

#[derive(Debug)]
pub struct DistinctInWindow {
    window_secs: i64,
    threshold: usize,
    by_principal: HashMap<String, PrincipalState>,
    first_bucket: Option<i64>,
    min_bucket: i64,
    max_bucket: i64,
    order: Order,
    late: u64,
    found: Vec<Burst>,
}

impl DistinctInWindow {
    pub fn new(window_secs: i64, threshold: usize) -> Self {
        DistinctInWindow {
            window_secs: window_secs.max(1),
            threshold: threshold.max(1),
            by_principal: HashMap::new(),
            first_bucket: None,
            min_bucket: i64::MAX,
            max_bucket: i64::MIN,
            order: Order::Unknown,
            late: 0,
            found: Vec::new(),
        }
    }

    /// Events that arrived after their bucket was settled (see the module docs).
    pub fn late_events(&self) -> u64 {
        self.late
    }

    pub fn add(&mut self, principal: &str, item: &str, unix_secs: i64, event_id: &str) {
        let bucket = unix_secs.div_euclid(self.window_secs);
        let moved = self.note_order(bucket);
        let state = match self.by_principal.get_mut(principal) {
            Some(s) => s,
            None => self.by_principal.entry(principal.to_string()).or_default(),
        };
        let items = &mut state.buckets.entry(bucket).or_default().items;
        match items.get_mut(item) {
            Some(span) => {
                // Reuse the strings' buffers: in a time-ordered stream one end moves on every event.
                if unix_secs < span.first {
                    span.first = unix_secs;
                    span.first_event.clear();
                    span.first_event.push_str(event_id);
                }
                if unix_secs > span.last {
                    span.last = unix_secs;
                    span.last_event.clear();
                    span.last_event.push_str(event_id);
                }
            }
            None => {
                let span = Span {
                    first: unix_secs,
                    first_event: event_id.to_string(),
                    last: unix_secs,
                    last_event: event_id.to_string(),
                };
                items.insert(item.to_string(), span);
            }
        }
        if moved {
            self.settle();
        }
    }

    /// Tracks the stream's direction; true when its frontier moved to a new bucket.
    fn note_order(&mut self, bucket: i64) -> bool {
        let first = *self.first_bucket.get_or_insert(bucket);
        let moved = bucket > self.max_bucket || bucket < self.min_bucket;
        match self.order {
            Order::Unknown if bucket >= first + 2 => self.order = Order::Ascending,
            Order::Unknown if bucket <= first - 2 => self.order = Order::Descending,
            Order::Ascending if bucket < self.max_bucket - 1 => self.late += 1,
            Order::Descending if bucket > self.min_bucket + 1 => self.late += 1,
            _ => {}
        }
        self.min_bucket = self.min_bucket.min(bucket);
        self.max_bucket = self.max_bucket.max(bucket);
        moved
    }

    /// Evaluates and drops the buckets the stream has moved past.
    fn settle(&mut self) {
        let (window, threshold) = (self.window_secs, self.threshold);
        for (principal, state) in &mut self.by_principal {
            match self.order {
                Order::Unknown => {}
                Order::Ascending => {
                    let done: Vec<i64> = state
                        .buckets
                        .range(..=self.max_bucket - 3)
                        .map(|(k, _)| *k)
                        .collect();
                    for k in &done {
                        evaluate(principal, state, *k, window, threshold, &mut self.found);
                    }
                    for k in done {
                        state.buckets.remove(&k);
                    }
                }
                Order::Descending => {
                    let ready: Vec<i64> = state
                        .buckets
                        .range(self.min_bucket + 2..)
                        .rev()
                        .map(|(k, _)| *k)
                        .collect();
                    for k in ready {
                        evaluate(principal, state, k, window, threshold, &mut self.found);
                    }
                    let gone: Vec<i64> = state
                        .buckets
                        .range(self.min_bucket + 3..)
                        .map(|(k, _)| *k)
                        .collect();
                    for k in gone {
                        state.buckets.remove(&k);
                    }
                }
            }
        }
    }

    /// Every burst, by principal then time; bursts in consecutive buckets are one episode and
    /// one result (its `bucket` is the earliest).
    pub fn finish(mut self) -> Vec<Burst> {
        let (window, threshold) = (self.window_secs, self.threshold);
        for (principal, state) in &mut self.by_principal {
            let mut keys: Vec<i64> = state.buckets.keys().copied().collect();
            if self.order == Order::Descending {
                keys.reverse();
            }
            for k in keys {
                evaluate(principal, state, k, window, threshold, &mut self.found);
            }
            state.close_run(&mut self.found);
        }
        self.found
            .sort_by(|a, b| (&a.principal, a.start).cmp(&(&b.principal, b.start)));
        self.found
    }
}

fn evaluate(
    principal: &str,
    state: &mut PrincipalState,
    k: i64,
    window: i64,
    threshold: usize,
    found: &mut Vec<Burst>,
) {
    let Some(here) = state.buckets.get(&k) else {
        return;
    };
    if here.evaluated {
        return;
    }
    let empty = HashMap::new();
    let next = state.buckets.get(&(k + 1)).map_or(&empty, |b| &b.items);
    let burst = if here.items.len() + next.len() < threshold {
        None
    } else {
        best_window(principal, k, &here.items, next, window, threshold)
    };
    if let Some(b) = burst {
        state.extend_run(b, found);
    }
    if let Some(here) = state.buckets.get_mut(&k) {
        here.evaluated = true;
    }
}

fn best_window(
    principal: &str,
    bucket: i64,
    here: &HashMap<String, Span>,
    next: &HashMap<String, Span>,
    window: i64,
    threshold: usize,
) -> Option<Burst> {
    let in_next = |name: &String, s: &Span, start: i64| {
        s.first <= start + window && here.get(name).is_none_or(|h| h.last < start)
    };
    let mut best: Option<(usize, i64)> = None;
    for start in here.values().map(|s| s.last) {
        let count = here.values().filter(|s| s.last >= start).count()
            + next.iter().filter(|(n, s)| in_next(n, s, start)).count();
        if count >= threshold && best.is_none_or(|(c, s)| count > c || (count == c && start < s)) {
            best = Some((count, start));
        }
    }
    let (_, start) = best?;
    let mut counted: Vec<(&String, i64, &String)> = Vec::new();
    for (name, span) in here.iter().filter(|(_, s)| s.last >= start) {
        counted.push((name, span.last, &span.last_event));
    }
    for (name, span) in next.iter().filter(|(n, s)| in_next(n, s, start)) {
        counted.push((name, span.first, &span.first_event));
    }
    counted.sort();
    let end = counted.iter().map(|c| c.1).max().unwrap_or(start);
    Some(Burst {
        principal: principal.to_string(),
        start,
        end,
        items: counted.iter().map(|c| c.0.clone()).collect(),
        event_ids: counted.iter().map(|c| c.2.clone()).collect(),
        bucket,
    })
}
