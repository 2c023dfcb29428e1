//! The table of all codes of a format of at most 8 bits: 16 codes a row, coloured by class;
//! clicking a code selects it in the bit editor. The table is one tab stop (the selected code);
//! the arrow keys move the selection by one code (Left/Right) or one row (Up/Down).

use crate::components::explorer::ExplorerState;
use crate::text::number;
use leptos::ev::KeyboardEvent;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

/// Formats up to this many bits get a code table.
const MAX_TABLE_BITS: u32 = 8;

/// Selects `code` and moves the keyboard focus to its cell.
fn select_and_focus(state: ExplorerState, code: u32) {
    state.code.set(code);
    let selector = format!("#code-table button[data-code=\"{code}\"]");
    if let Some(cell) = document()
        .query_selector(&selector)
        .ok()
        .flatten()
        .and_then(|cell| cell.dyn_into::<HtmlElement>().ok())
    {
        let _ = cell.focus();
    }
}

/// The code table of the explorer.
#[component]
pub fn CodeTable(state: ExplorerState) -> impl IntoView {
    let table = move || {
        let view = state
            .codes
            .get()
            .ok()
            .filter(|v| v.bits() <= MAX_TABLE_BITS)?;
        let codes = 1u32 << view.bits();
        let columns = codes.min(16);
        let header = (0..columns)
            .map(|low| view! { <th scope="col">{format!("_{low:X}")}</th> })
            .collect_view();
        let rows = (0..codes / columns)
            .map(|high| {
                let cells = (0..columns)
                    .map(|low| {
                        let code = high * 16 + low;
                        let value = view.decode(code);
                        let class = view.classify(code).name();
                        view! {
                            <td>
                                <button
                                    class=format!("code {class}")
                                    class:selected=move || state.code.get() == code
                                    data-code=code
                                    title=format!("code {code:02X}: {} ({class})", number(value))
                                    tabindex=move || if state.code.get() == code { "0" } else { "-1" }
                                    on:click=move |_| state.code.set(code)
                                    on:keydown=move |ev: KeyboardEvent| {
                                        let step: i64 = match ev.key().as_str() {
                                            "ArrowLeft" => -1,
                                            "ArrowRight" => 1,
                                            "ArrowUp" => -16,
                                            "ArrowDown" => 16,
                                            _ => return,
                                        };
                                        ev.prevent_default();
                                        let next = i64::from(code) + step;
                                        if (0..i64::from(codes)).contains(&next) {
                                            select_and_focus(state, next as u32);
                                        }
                                    }
                                >
                                    {number(value)}
                                </button>
                            </td>
                        }
                    })
                    .collect_view();
                view! { <tr><th scope="row">{format!("{high:X}_")}</th>{cells}</tr> }
            })
            .collect_view();
        Some(view! {
            <table class="code-table" id="code-table">
                <thead><tr><th></th>{header}</tr></thead>
                <tbody>{rows}</tbody>
            </table>
        })
    };
    view! {
        <div class="code-table-box">
            <h3>"All codes"</h3>
            <p class="legend">
                <span class="key zero">"zero"</span>
                <span class="key subnormal">"subnormal"</span>
                <span class="key normal">"normal"</span>
                <span class="key inf">"inf"</span>
                <span class="key nan">"NaN"</span>
                <span class="key unused">"unused"</span>
            </p>
            {move || table().map(IntoAny::into_any).unwrap_or_else(|| {
                view! { <p class="note">"Code tables are drawn for formats of at most 8 bits."</p> }.into_any()
            })}
        </div>
    }
}
