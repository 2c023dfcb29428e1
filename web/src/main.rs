//! Entry point of the web app: mounts [`lowp_web::app::App`] on the page body. The training
//! worker loads the same module (`static/train-worker.js`); there, with no window, `main` mounts
//! nothing and the worker calls `train_worker_message` instead.

fn main() {
    #[cfg(target_arch = "wasm32")]
    {
        console_error_panic_hook::set_once();
        if web_sys::window().is_none() {
            return;
        }
    }
    leptos::mount::mount_to_body(lowp_web::app::App);
}
