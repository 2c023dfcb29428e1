//! The table of all codes of a format of at most 8 bits: 16 codes a row, coloured by class;
//! clicking a code selects it in the bit editor. The table is one tab stop (the selected code);
//! the arrow keys move the selection by one code (Left/Right) or one row (Up/Down).

use crate::components::explorer::ExplorerState;
use crate::text::number;
use leptos::ev::KeyboardEvent;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

/// Formats up to this many bits get a code table.
const MAX_TABLE_BITS: u32 = 8;

/// The cell of `code`, if the table shows it.
fn cell(code: u32) -> Option<HtmlElement> {
    document()
        .query_selector(&format!("#code-table button[data-code=\"{code}\"]"))
        .ok()
        .flatten()
        .and_then(|cell| cell.dyn_into::<HtmlElement>().ok())
}

/// Marks the cell of `code` as the selected one (and the table's tab stop), unmarking the
/// previous one.
fn mark_selected(code: u32) {
    if let Ok(Some(previous)) = document().query_selector("#code-table button.selected") {
        let _ = previous.class_list().remove_1("selected");
        let _ = previous.set_attribute("tabindex", "-1");
    }
    if let Some(cell) = cell(code) {
        let _ = cell.class_list().add_1("selected");
        let _ = cell.set_attribute("tabindex", "0");
    }
}

/// The code of the table cell an event happened in.
fn event_code(target: Option<web_sys::EventTarget>) -> Option<u32> {
    let element = target?.dyn_into::<Element>().ok()?;
    element
        .closest("button[data-code]")
        .ok()??
        .get_attribute("data-code")?
        .parse()
        .ok()
}

/// The code table of the explorer. The cells are static: one click and one key handler on the
/// table and one effect for the selection keep a bit click cheap with 256 cells.
#[component]
pub fn CodeTable(state: ExplorerState) -> impl IntoView {
    // Runs after each render: the table is rebuilt when the format changes.
    Effect::new(move |_| {
        state.codes.track();
        mark_selected(state.code.get());
    });
    let table = move || {
        let view = state
            .codes
            .get()
            .ok()
            .filter(|v| v.bits() <= MAX_TABLE_BITS)?;
        let codes = 1u32 << view.bits();
        let columns = codes.min(16);
        let selected = state.code.get_untracked();
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
                        let here = code == selected;
                        view! {
                            <td>
                                <button
                                    class=format!("code {class}")
                                    class:selected=here
                                    data-code=code
                                    title=format!("code {code:02X}: {} ({class})", number(value))
                                    tabindex=if here { "0" } else { "-1" }
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
        let on_key = move |ev: KeyboardEvent| {
            let step: i64 = match ev.key().as_str() {
                "ArrowLeft" => -1,
                "ArrowRight" => 1,
                "ArrowUp" => -16,
                "ArrowDown" => 16,
                _ => return,
            };
            let Some(code) = event_code(ev.target()) else {
                return;
            };
            ev.prevent_default();
            let next = i64::from(code) + step;
            if (0..i64::from(codes)).contains(&next) {
                state.code.set(next as u32);
                if let Some(cell) = cell(next as u32) {
                    let _ = cell.focus();
                }
            }
        };
        Some(view! {
            <table
                class="code-table"
                id="code-table"
                on:click=move |ev| {
                    if let Some(code) = event_code(ev.target()) {
                        state.code.set(code);
                    }
                }
                on:keydown=on_key
            >
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
