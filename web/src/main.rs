//! Entry point of the web app: mounts [`lowp_web::app::App`] on the page body.

fn main() {
    #[cfg(target_arch = "wasm32")]
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(lowp_web::app::App);
}
