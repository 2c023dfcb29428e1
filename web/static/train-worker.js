// The training worker of the lowp web app: training runs (CPU or WebGPU) step here, off the
// page's thread (web/src/train_worker.rs). It loads the app's own wasm module, whose `main`
// mounts nothing outside a window, and hands every message of the page (JSON text) to
// `train_worker_message`; the answers come back with postMessage. Messages that arrive while the
// module loads wait.
const early = [];
self.onmessage = (event) => early.push(event.data);
const wasm = await import('./pkg/lowp_web.js');
await wasm.default();
self.onmessage = (event) => wasm.train_worker_message(event.data);
for (const data of early.splice(0)) wasm.train_worker_message(data);
