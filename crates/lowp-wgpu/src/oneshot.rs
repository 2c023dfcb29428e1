//! A minimal one-shot channel for `map_async` callbacks: on native targets the callback has run
//! by the time `device.poll(wait_indefinitely)` returns, so the receiver is ready at once; on the
//! web the browser's event loop runs it later and wakes the awaiting task.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

struct Shared<T> {
    value: Option<T>,
    closed: bool,
    waker: Option<Waker>,
}

/// The sending half; dropping it unsent closes the channel.
pub(crate) struct Sender<T> {
    shared: Arc<Mutex<Shared<T>>>,
}

/// The receiving half: a future of `Some(value)`, or `None` when the sender was dropped unsent.
pub(crate) struct Receiver<T> {
    shared: Arc<Mutex<Shared<T>>>,
}

fn lock<T>(shared: &Mutex<Shared<T>>) -> MutexGuard<'_, Shared<T>> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A connected sender and receiver.
pub(crate) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(Shared {
        value: None,
        closed: false,
        waker: None,
    }));
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

impl<T> Sender<T> {
    /// Delivers `value` and wakes the receiver.
    pub(crate) fn send(self, value: T) {
        lock(&self.shared).value = Some(value);
        // Drop wakes the receiver.
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut shared = lock(&self.shared);
            shared.closed = true;
            shared.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<T>> {
        let mut shared = lock(&self.shared);
        if let Some(value) = shared.value.take() {
            Poll::Ready(Some(value))
        } else if shared.closed {
            Poll::Ready(None)
        } else {
            shared.waker = Some(context.waker().clone());
            Poll::Pending
        }
    }
}
