//! Training in a dedicated Web Worker, so that the page stays responsive while a run steps.
//!
//! The worker (`static/train-worker.js`) loads this same wasm module (whose `main` mounts nothing
//! outside a window) and hands every message of the page to [`train_worker_message`]. One worker
//! holds one run ([`WorkerSession`]) on lowp-backend's CPU backend or on a WebGPU device of its
//! own ([`WorkerDevice`]) and steps it until it is stopped or finished, posting every result
//! back. The messages are JSON text:
//!
//! - page → worker, [`ToWorker`]: `start` (with the settings and the device), `stop`, `resume`;
//! - worker → page, [`FromWorker`]: `looping` (the stepping loop started or ended), `step` (the
//!   loss, as binary32 bits so that it crosses exactly, and the step's milliseconds), `epoch`
//!   (test figures), `histograms` (every layer's weight and gradient), `finished`, `failed`.
//!
//! The run is a [`TrainRun`] with the seeds of its settings, so a run gives the same losses, bit
//! for bit, on the CPU and on WebGPU.

use crate::training::{EpochFigures, LayerHistograms, TrainRun, TrainSettings};
use core::cell::{Cell, RefCell};
use core::future::Future;
use lowp_tensor::Device;
use serde::{Deserialize, Serialize};

/// Steps between histogram messages (and after the last step of every epoch).
pub const HISTOGRAM_EVERY: u64 = 10;

/// Where a worker's run steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerDevice {
    /// lowp-backend's CPU backend.
    #[default]
    Cpu,
    /// lowp-wgpu on a WebGPU device that the worker opens for itself (browsers only).
    Wgpu,
}

impl WorkerDevice {
    /// Opens the device.
    // In wasm the backend is single-threaded (not Send/Sync), but lowp-tensor's `Device::Wgpu`
    // shares it through an `Arc`; the worker only ever uses it from its one thread.
    #[cfg_attr(target_arch = "wasm32", expect(clippy::arc_with_non_send_sync))]
    pub async fn open(self) -> Result<Device, String> {
        match self {
            WorkerDevice::Cpu => Ok(Device::cpu()),
            #[cfg(target_arch = "wasm32")]
            WorkerDevice::Wgpu => lowp_wgpu::WgpuBackend::request()
                .await
                .map(|backend| Device::Wgpu(std::sync::Arc::new(backend)))
                .map_err(|error| format!("WebGPU in the training worker: {error}")),
            #[cfg(not(target_arch = "wasm32"))]
            WorkerDevice::Wgpu => Err("WebGPU training runs in the browser only".to_string()),
        }
    }
}

/// A message from the page to its training worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ToWorker {
    /// Open the device, build the run of these settings on it and start stepping it.
    Start {
        /// The run's settings.
        settings: Box<TrainSettings>,
        /// Where it steps.
        device: WorkerDevice,
    },
    /// Hold still after the step in flight.
    Stop,
    /// Go on stepping (nothing happens while the loop is still alive but the run goes on).
    Resume,
}

/// A message from a training worker to the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FromWorker {
    /// The stepping loop started (`true`) or ended (`false`: stopped, finished or failed).
    Looping {
        /// Whether the loop is alive.
        on: bool,
    },
    /// A training step is done.
    Step {
        /// The global step count after it (from 1).
        step: u64,
        /// The batch loss as binary32 bits (JSON numbers would not keep every bit).
        loss_bits: u32,
        /// Wall-clock milliseconds of the step in the worker.
        millis: f64,
    },
    /// The test figures after an epoch; the loss as binary64 bits (it may be NaN or infinite,
    /// which JSON cannot hold).
    Epoch {
        /// The epoch, from 1.
        epoch: u32,
        /// The global step count at its end.
        step: u64,
        /// Mean test cross-entropy, binary64 bits.
        test_loss_bits: u64,
        /// Fraction of test samples classified correctly.
        accuracy: f64,
    },
    /// Fresh histograms of every layer's weight and last weight gradient.
    Histograms {
        /// One entry per layer.
        layers: Vec<LayerHistograms>,
    },
    /// Every step of the run is done.
    Finished,
    /// The run failed (bad settings or a failing step) and does not go on.
    Failed {
        /// What went wrong.
        error: String,
    },
}

impl ToWorker {
    /// The message as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}"))
    }

    /// Reads a message from JSON text.
    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|error| format!("bad message to the worker: {error}"))
    }
}

impl FromWorker {
    /// The message as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|error| {
            // Unreachable for these types (no non-string map keys, no non-finite floats).
            FromWorker::Failed {
                error: format!("unencodable message: {error}"),
            }
            .to_json()
        })
    }

    /// Reads a message from JSON text.
    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|error| format!("bad message from the worker: {error}"))
    }

    /// The epoch message of `figures`.
    pub fn epoch(figures: EpochFigures) -> Self {
        FromWorker::Epoch {
            epoch: figures.epoch,
            step: figures.step,
            test_loss_bits: figures.test_loss.to_bits(),
            accuracy: figures.accuracy,
        }
    }

    /// The figures of an epoch message (`None` for other messages).
    pub fn figures(&self) -> Option<EpochFigures> {
        match *self {
            FromWorker::Epoch {
                epoch,
                step,
                test_loss_bits,
                accuracy,
            } => Some(EpochFigures {
                epoch,
                step,
                test_loss: f64::from_bits(test_loss_bits),
                accuracy,
            }),
            _ => None,
        }
    }
}

/// The run of one worker and whether it should step.
#[derive(Default)]
pub struct WorkerSession {
    /// The run (taken out of the cell while a step is in flight; `None` before `start` and
    /// after a failure).
    engine: RefCell<Option<TrainRun>>,
    /// Whether the page wants it to step.
    running: Cell<bool>,
    /// Whether the stepping loop is alive.
    looping: Cell<bool>,
    /// Whether a start is opening its device.
    starting: Cell<bool>,
}

impl WorkerSession {
    /// Handles one message of the page. Returns true when the stepping loop must be started:
    /// the caller then runs [`WorkerSession::step_loop`].
    pub async fn handle(&self, message: ToWorker, post: &dyn Fn(FromWorker)) -> bool {
        match message {
            ToWorker::Start { settings, device } => {
                self.starting.set(true);
                let engine = match device.open().await {
                    Ok(device) => TrainRun::new(&settings, device),
                    Err(error) => Err(error),
                };
                self.starting.set(false);
                match engine {
                    Ok(engine) => {
                        self.engine.replace(Some(engine));
                        self.running.set(true);
                        !self.looping.get()
                    }
                    Err(error) => {
                        post(FromWorker::Failed { error });
                        false
                    }
                }
            }
            ToWorker::Stop => {
                self.running.set(false);
                false
            }
            ToWorker::Resume => {
                let resumable = self.engine.borrow().is_some();
                self.running.set(resumable);
                resumable && !self.looping.get()
            }
        }
    }

    /// Whether the run is over: finished, failed or never started (the worker can close). Not
    /// while a start opens its device or the stepping loop is alive: a step in flight holds the
    /// run outside its cell (a WebGPU step awaits the device, and messages get in meanwhile).
    pub fn over(&self) -> bool {
        !self.starting.get()
            && !self.looping.get()
            && self.engine.borrow().as_ref().is_none_or(TrainRun::finished)
    }

    /// Steps the run while the page wants it to, posting every result; `clock` reads
    /// milliseconds and `pause` lets the worker's event loop run (so that a `stop` gets in)
    /// after every step.
    pub async fn step_loop<Pause, Paused>(
        &self,
        post: &dyn Fn(FromWorker),
        clock: fn() -> f64,
        pause: Pause,
    ) where
        Pause: Fn() -> Paused,
        Paused: Future<Output = ()>,
    {
        self.looping.set(true);
        post(FromWorker::Looping { on: true });
        while self.running.get() {
            let Some(mut engine) = self.engine.borrow_mut().take() else {
                break;
            };
            let outcome = if engine.finished() {
                Ok(true)
            } else {
                Self::step(&mut engine, post, clock).await
            };
            self.engine.replace(Some(engine));
            match outcome {
                Ok(false) => {}
                Ok(true) => {
                    self.running.set(false);
                    post(FromWorker::Finished);
                }
                Err(error) => {
                    self.running.set(false);
                    self.engine.replace(None);
                    post(FromWorker::Failed { error });
                }
            }
            pause().await;
        }
        self.looping.set(false);
        post(FromWorker::Looping { on: false });
    }

    /// One step, then the epoch's evaluation and the histograms when due; true when the run
    /// is finished.
    async fn step(
        engine: &mut TrainRun,
        post: &dyn Fn(FromWorker),
        clock: fn() -> f64,
    ) -> Result<bool, String> {
        let start = clock();
        let loss = engine.step().await?;
        let step = engine.steps();
        post(FromWorker::Step {
            step,
            loss_bits: loss.to_bits(),
            millis: clock() - start,
        });
        if engine.epoch_done() {
            post(FromWorker::epoch(engine.evaluate(|| async {}).await?));
        }
        if step % HISTOGRAM_EVERY == 1 || engine.epoch_done() || engine.finished() {
            post(FromWorker::Histograms {
                layers: engine.histograms().await?,
            });
        }
        Ok(engine.finished())
    }
}

/// Entry point of the training worker (`static/train-worker.js` calls it for every message of
/// the page): handles the JSON message `text`, starting the stepping loop when needed. Answers
/// go back with `postMessage`; once the run is over the worker closes itself.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn train_worker_message(text: String) {
    use std::rc::Rc;
    use wasm_bindgen::JsCast;

    console_error_panic_hook::set_once();
    thread_local! {
        static SESSION: Rc<WorkerSession> = Rc::new(WorkerSession::default());
    }
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let closer = scope.clone();
    let post = move |message: FromWorker| {
        let _ = scope.post_message(&message.to_json().into());
    };
    let message = match ToWorker::from_json(&text) {
        Ok(message) => message,
        Err(error) => return post(FromWorker::Failed { error }),
    };
    let session = SESSION.with(Rc::clone);
    wasm_bindgen_futures::spawn_local(async move {
        if session.handle(message, &post).await {
            session
                .step_loop(&post, crate::browser::now, crate::browser::next_task)
                .await;
        }
        if session.over() {
            closer.close();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_now;
    use std::rc::Rc;

    fn short_settings() -> TrainSettings {
        TrainSettings {
            train_samples: 96,
            batch_size: 32,
            epochs: 2,
            ..TrainSettings::default()
        }
    }

    /// Every message of a session, each sent through JSON and read back.
    fn recorder() -> (Rc<RefCell<Vec<FromWorker>>>, impl Fn(FromWorker)) {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let sink = seen.clone();
        let post = move |message: FromWorker| {
            let back = FromWorker::from_json(&message.to_json()).unwrap();
            assert_eq!(back, message);
            sink.borrow_mut().push(back);
        };
        (seen, post)
    }

    fn losses(messages: &[FromWorker]) -> Vec<u32> {
        messages
            .iter()
            .filter_map(|m| match m {
                FromWorker::Step { loss_bits, .. } => Some(*loss_bits),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_worker_session_trains_the_run_of_the_page_bit_for_bit() {
        let settings = short_settings();
        let (seen, post) = recorder();
        let session = WorkerSession::default();
        let start = ToWorker::from_json(
            &ToWorker::Start {
                settings: Box::new(settings.clone()),
                device: WorkerDevice::Cpu,
            }
            .to_json(),
        )
        .unwrap();
        assert!(run_now(session.handle(start, &post)));
        run_now(session.step_loop(&post, || 0.0, || async {}));
        let messages = seen.borrow();

        let mut run = TrainRun::new(&settings, Device::cpu()).unwrap();
        let mut expected = Vec::new();
        let mut epochs = Vec::new();
        while !run.finished() {
            expected.push(run_now(run.step()).unwrap().to_bits());
            if run.epoch_done() {
                epochs.push(run_now(run.evaluate(|| async {})).unwrap());
            }
        }
        assert_eq!(losses(&messages), expected);
        let shown: Vec<_> = messages.iter().filter_map(FromWorker::figures).collect();
        assert_eq!(shown, epochs);
        assert_eq!(messages.first(), Some(&FromWorker::Looping { on: true }));
        assert_eq!(
            messages[messages.len() - 2..],
            [FromWorker::Finished, FromWorker::Looping { on: false }]
        );
        let histograms = messages
            .iter()
            .filter(|m| matches!(m, FromWorker::Histograms { layers } if layers.len() == 2))
            .count();
        // After step 1 and at the end of each of the two epochs (steps 3 and 6).
        assert_eq!(histograms, 3);
    }

    #[test]
    fn stop_holds_a_worker_run_still_and_resume_goes_on() {
        let settings = short_settings();
        let (seen, post) = recorder();
        let session = WorkerSession::default();
        assert!(run_now(session.handle(
            ToWorker::Start {
                settings: Box::new(settings),
                device: WorkerDevice::Cpu,
            },
            &post
        )));
        // The page's stop gets in after the second step.
        let steps_seen = || losses(&seen.borrow()).len();
        run_now(session.step_loop(
            &post,
            || 0.0,
            || async {
                if steps_seen() == 2 {
                    session.handle(ToWorker::Stop, &post).await;
                }
            },
        ));
        assert_eq!(steps_seen(), 2);
        assert_eq!(
            seen.borrow().last(),
            Some(&FromWorker::Looping { on: false })
        );
        assert!(!session.over());
        // A second stop and a resume while looping start nothing; a resume after starts it.
        assert!(!run_now(session.handle(ToWorker::Stop, &post)));
        assert!(run_now(session.handle(ToWorker::Resume, &post)));
        run_now(session.step_loop(&post, || 0.0, || async {}));
        assert_eq!(steps_seen(), 6);
        assert!(session.over());
        // Resuming a finished run steps no more: it only says again that it is finished.
        assert!(run_now(session.handle(ToWorker::Resume, &post)));
        run_now(session.step_loop(&post, || 0.0, || async {}));
        assert_eq!(steps_seen(), 6);
        let messages = seen.borrow();
        assert_eq!(
            messages[messages.len() - 3..],
            [
                FromWorker::Looping { on: true },
                FromWorker::Finished,
                FromWorker::Looping { on: false }
            ]
        );
    }

    #[test]
    fn bad_settings_and_bad_messages_fail_with_their_reason() {
        let (seen, post) = recorder();
        let session = WorkerSession::default();
        let settings = TrainSettings {
            weight_quant: "e9m9x".into(),
            ..TrainSettings::default()
        };
        assert!(!run_now(session.handle(
            ToWorker::Start {
                settings: Box::new(settings),
                device: WorkerDevice::Cpu,
            },
            &post
        )));
        assert!(!run_now(session.handle(ToWorker::Resume, &post)));
        assert!(session.over());
        assert!(matches!(
            &seen.borrow()[..],
            [FromWorker::Failed { error }] if error.starts_with("weight quantizer")
        ));
        assert!(ToWorker::from_json("{\"kind\":\"jump\"}").is_err());
        // WebGPU opens in browsers only: natively the start fails with that reason.
        let (seen, post) = recorder();
        let session = WorkerSession::default();
        assert!(!run_now(session.handle(
            ToWorker::Start {
                settings: Box::new(short_settings()),
                device: WorkerDevice::Wgpu,
            },
            &post
        )));
        assert!(session.over());
        assert!(matches!(
            &seen.borrow()[..],
            [FromWorker::Failed { error }] if error.contains("WebGPU")
        ));
        assert_eq!(
            ToWorker::from_json("{\"kind\":\"stop\"}"),
            Ok(ToWorker::Stop)
        );
        let nan = FromWorker::epoch(EpochFigures {
            epoch: 1,
            step: 3,
            test_loss: f64::NAN,
            accuracy: 0.1,
        });
        let back = FromWorker::from_json(&nan.to_json()).unwrap();
        assert!(back.figures().unwrap().test_loss.is_nan());
    }
}
