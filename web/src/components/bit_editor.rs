//! The bit editor: one button per bit of the code, coloured by its role (sign, exponent,
//! mantissa; sign, integer, fraction for fixed point). Click or Space toggles a bit; Left/Right
//! move between bits; Up/Down step to the neighbouring value.

use crate::components::explorer::ExplorerState;
use crate::values::ValueSet;
use leptos::ev::KeyboardEvent;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

/// Steps the explorer's value to its neighbour above (`up`) or below.
pub fn step_value(state: ExplorerState, up: bool) {
    let value = state.value();
    let set = ValueSet::new(state.format.get_untracked(), value);
    let next = if up {
        set.next_up(value)
    } else {
        set.next_down(value)
    };
    if let Some(next) = next {
        state.set_value(next);
    }
}

/// Moves the keyboard focus to the previous (`-1`) or next (`1`) sibling element.
fn focus_sibling(ev: &KeyboardEvent, direction: i32) {
    let Some(element) = ev.target().and_then(|t| t.dyn_into::<HtmlElement>().ok()) else {
        return;
    };
    let sibling = if direction < 0 {
        element.previous_element_sibling()
    } else {
        element.next_element_sibling()
    };
    if let Some(sibling) = sibling.and_then(|s| s.dyn_into::<HtmlElement>().ok()) {
        let _ = sibling.focus();
    }
}

/// The bit editor of the explorer.
#[component]
pub fn BitEditor(state: ExplorerState) -> impl IntoView {
    let bits = move || {
        state.codes.with(|codes| match codes {
            Ok(view) => {
                let view = *view;
                let buttons = (0..view.bits())
                    .rev()
                    .map(|bit| {
                        let role = view.role(bit);
                        let on = move || state.code.get() >> bit & 1 == 1;
                        view! {
                            <button
                                class=format!("bit {}", role.name())
                                class:on=on
                                data-bit=bit
                                aria-pressed=move || on().to_string()
                                aria-label=format!("bit {bit} ({})", role.name())
                                title=format!("bit {bit}: {}", role.name())
                                on:click=move |_| state.code.update(|c| *c ^= 1 << bit)
                                on:keydown=move |ev: KeyboardEvent| match ev.key().as_str() {
                                    "ArrowLeft" => {
                                        ev.prevent_default();
                                        focus_sibling(&ev, -1);
                                    }
                                    "ArrowRight" => {
                                        ev.prevent_default();
                                        focus_sibling(&ev, 1);
                                    }
                                    "ArrowUp" => {
                                        ev.prevent_default();
                                        step_value(state, true);
                                    }
                                    "ArrowDown" => {
                                        ev.prevent_default();
                                        step_value(state, false);
                                    }
                                    _ => {}
                                }
                            >
                                {move || if on() { "1" } else { "0" }}
                            </button>
                        }
                    })
                    .collect_view();
                view! { <div class="bits" role="group" aria-label="code bits, most significant first">{buttons}</div> }
                    .into_any()
            }
            Err(reason) => view! { <p class="note" id="no-code">{reason.clone()}</p> }.into_any(),
        })
    };
    view! {
        <div class="bit-editor">
            <h3>"Bits"</h3>
            {bits}
            <p class="legend">
                {move || {
                    state.codes.with(|codes| {
                        codes.as_ref().ok().map(|view| {
                            let mut roles = Vec::new();
                            for bit in (0..view.bits()).rev() {
                                let role = view.role(bit);
                                if !roles.contains(&role) {
                                    roles.push(role);
                                }
                            }
                            roles
                                .into_iter()
                                .map(|role| view! { <span class=format!("key {}", role.name())>{role.name()}</span> })
                                .collect_view()
                        })
                    })
                }}
            </p>
        </div>
    }
}
