//! Counting every answered request for `/metrics`: a middleware laid on
//! each route (`Router::route_layer`, so the route template is known), and
//! a body wrapper that counts the sync endpoint's bytes on the wire as
//! they pass.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use doorstep_core::protocol::ErrorCode;
use http_body::{Frame, SizeHint};
use prometheus_client::metrics::counter::Counter;

use crate::metrics::Metrics;

/// Counts the request under its route template and status, the error
/// code of an API error answer, and (sync) the bytes in and out.
pub async fn count(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let endpoint = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let request = match metrics.bytes_in(&endpoint) {
        Some(counter) => request.map(|body| Body::new(Counted { inner: body, counter })),
        None => request,
    };
    let response = next.run(request).await;
    metrics.request(
        &endpoint,
        response.status().as_u16(),
        response.extensions().get::<ErrorCode>().copied(),
    );
    match metrics.bytes_out(&endpoint) {
        Some(counter) => response.map(|body| Body::new(Counted { inner: body, counter })),
        None => response,
    }
}

/// A body that adds the length of each data frame to a counter.
struct Counted {
    inner: Body,
    counter: Counter,
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.counter.inc_by(u64::try_from(data.len()).unwrap_or(u64::MAX));
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
