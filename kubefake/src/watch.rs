//! `?watch=true`: newline-delimited watch events, replayed from a resourceVersion and then
//! followed live until the timeout or server shutdown.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use futures::stream;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::apierror::ApiError;
use crate::commit::Target;
use crate::observe::{ChangeEvent, ChangeKind};
use crate::resources::ResKey;
use crate::selector::Selector;
use crate::shared::Shared;

struct Filter {
    target: Target,
    labels: Selector,
    fields: Selector,
}

impl Filter {
    fn line(&self, ev: &ChangeEvent) -> Option<String> {
        if ev.group != self.target.info.group || ev.plural != self.target.info.plural {
            return None;
        }
        if self.target.namespace.is_some() && ev.namespace != self.target.namespace {
            return None;
        }
        if !self.labels.matches_labels(&ev.object) || !self.fields.matches_fields(&ev.object) {
            return None;
        }
        let kind = match ev.kind {
            ChangeKind::Added => "ADDED",
            ChangeKind::Modified => "MODIFIED",
            ChangeKind::Deleted => "DELETED",
        };
        let mut object = ev.object.clone();
        object["apiVersion"] = Value::String(self.target.api_version());
        Some(format!("{}\n", json!({"type": kind, "object": object})))
    }
}

struct Live {
    filter: Filter,
    rx: broadcast::Receiver<ChangeEvent>,
    last_rv: u64,
    deadline: Instant,
    shutdown: watch::Receiver<bool>,
}

impl Live {
    async fn next(mut self) -> Option<(Result<String, std::convert::Infallible>, Self)> {
        loop {
            let ev = tokio::select! {
                ev = self.rx.recv() => ev,
                _ = tokio::time::sleep_until(self.deadline) => return None,
                _ = self.shutdown.wait_for(|stop| *stop) => return None,
            };
            match ev {
                Ok(ev) if ev.resource_version > self.last_rv => {
                    self.last_rv = ev.resource_version;
                    if let Some(line) = self.filter.line(&ev) {
                        return Some((Ok(line), self));
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return None,
            }
        }
    }
}

/// Starts a watch response for `target`.
pub fn start(
    shared: &Arc<Shared>,
    target: Target,
    rv: Option<String>,
    labels: Selector,
    fields: Selector,
    timeout: Duration,
) -> Response {
    let filter = Filter {
        target,
        labels,
        fields,
    };
    let (initial, rx, last_rv) = {
        let st = shared.state();
        let rx = st.events.subscribe();
        let current = st.store.resource_version();
        let from: Option<u64> = rv
            .as_deref()
            .filter(|r| !r.is_empty() && *r != "0")
            .and_then(|r| r.parse().ok());
        let initial: Vec<String> = match from {
            None => {
                let key = ResKey::of(&filter.target.info);
                st.store
                    .list(&key, filter.target.ns())
                    .filter_map(|r| {
                        let ev = ChangeEvent {
                            kind: ChangeKind::Added,
                            group: filter.target.info.group.clone(),
                            object_kind: filter.target.info.kind.clone(),
                            plural: filter.target.info.plural.clone(),
                            namespace: filter.target.namespace.clone(),
                            name: String::new(),
                            resource_version: 0,
                            object: r.render(&filter.target.api_version()),
                        };
                        let mut ev = ev;
                        ev.namespace = ev
                            .object
                            .pointer("/metadata/namespace")
                            .and_then(Value::as_str)
                            .map(str::to_string);
                        filter.line(&ev)
                    })
                    .collect()
            }
            Some(from) if from < st.store.oldest_resumable() => {
                let gone =
                    ApiError::new(410, format!("too old resource version: {from} ({current})"));
                vec![format!(
                    "{}\n",
                    json!({"type": "ERROR", "object": gone.to_status()})
                )]
            }
            Some(from) => st
                .store
                .events_since(from)
                .filter_map(|e| filter.line(e))
                .collect(),
        };
        (initial, rx, current)
    };
    let live = Live {
        filter,
        rx,
        last_rv,
        deadline: Instant::now() + timeout,
        shutdown: shared.shutdown.clone(),
    };
    let head = stream::iter(initial.into_iter().map(Ok::<_, std::convert::Infallible>));
    let tail = stream::unfold(live, Live::next);
    let body = Body::from_stream(futures::StreamExt::chain(head, tail));
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
