//! The table of all codes of a format of at most 8 bits: 16 codes a row, coloured by class;
//! clicking a code selects it in the bit editor. The table is one tab stop (the selected code);
//! the arrow keys move the selection by one code (Left/Right) or one row (Up/Down).
//!
//! The cells are built once per code width; a format change of the same width (e5m2 → e4m3)
//! rewrites their text and class in place instead of building 256 new buttons. A cell's title
//! (code, value and class) is written when the pointer or the focus reaches it.

use crate::codes::CodeView;
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

/// The text and class attribute of the cell of `code` (`selected` is kept apart: see
/// [`mark_selected`]).
fn cell_content(view: &CodeView, code: u32) -> (String, String) {
    let class = view.classify(code).name();
    (number(view.decode(code)), format!("code {class}"))
}

/// Writes the title of the cell that an event happened in: its code, value and class.
fn write_title(view: &CodeView, target: Option<web_sys::EventTarget>) {
    let Some(code) = event_code(target.clone()) else {
        return;
    };
    let cell = target
        .and_then(|t| t.dyn_into::<Element>().ok())
        .and_then(|e| e.closest("button[data-code]").ok().flatten());
    if let Some(cell) = cell {
        let value = number(view.decode(code));
        let class = view.classify(code).name();
        let _ = cell.set_attribute("title", &format!("code {code:02X}: {value} ({class})"));
    }
}

/// Rewrites the cells of the table from the format of `before` to that of `view` (same code
/// width): only the texts and classes that differ cross to the DOM, and the selected
/// cell keeps its mark.
fn refill(before: &CodeView, view: &CodeView) {
    // Titles written for the old format go (there are few: see `write_title`).
    if let Ok(titled) = document().query_selector_all("#code-table button[title]") {
        for index in 0..titled.length() {
            if let Some(cell) = titled
                .item(index)
                .and_then(|c| c.dyn_into::<Element>().ok())
            {
                let _ = cell.remove_attribute("title");
            }
        }
    }
    let Ok(cells) = document().query_selector_all("#code-table button.code") else {
        return;
    };
    // The cells are in code order.
    for code in 0..cells.length() {
        let Some(cell) = cells.item(code).and_then(|c| c.dyn_into::<Element>().ok()) else {
            continue;
        };
        let (old_text, old_class) = cell_content(before, code);
        let (text, mut class) = cell_content(view, code);
        if text != old_text {
            cell.set_text_content(Some(&text));
        }
        if class != old_class {
            if cell.class_list().contains("selected") {
                class.push_str(" selected");
            }
            cell.set_class_name(&class);
        }
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
    // The code width of the table (`None`: no table); the cells are built when it changes.
    let width = Memo::new(move |_| {
        state.codes.with(|codes| {
            codes
                .as_ref()
                .ok()
                .map(CodeView::bits)
                .filter(|&bits| bits <= MAX_TABLE_BITS)
        })
    });
    // Runs after each render: a new format of the same width refills the cells.
    Effect::new(move |built: Option<Option<CodeView>>| {
        let view = state
            .codes
            .get()
            .ok()
            .filter(|v| v.bits() <= MAX_TABLE_BITS);
        if let (Some(view), Some(Some(before))) = (view, built)
            && before != view
            && before.bits() == view.bits()
        {
            refill(&before, &view);
            mark_selected(state.code.get_untracked());
        }
        view
    });
    // The selection.
    Effect::new(move |_| {
        width.track();
        mark_selected(state.code.get());
    });
    // The table of a width, built afresh (keyed below by the width): refill changes its cells
    // behind the renderer's back, so it must never be rebuilt in place.
    let table = move |bits: u32| {
        // From the format signal itself: the codes memo may not be recomputed yet here.
        let view = CodeView::new(state.format.get_untracked()).ok()?;
        let codes = 1u32 << bits;
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
                        let (text, class) = cell_content(&view, code);
                        let here = code == selected;
                        view! {
                            <td>
                                <button
                                    class=class
                                    class:selected=here
                                    data-code=code
                                    tabindex=if here { "0" } else { "-1" }
                                >
                                    {text}
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
                on:pointerover=move |ev| {
                    if let Ok(view) = state.codes.get_untracked() {
                        write_title(&view, ev.target());
                    }
                }
                on:focusin=move |ev| {
                    if let Ok(view) = state.codes.get_untracked() {
                        write_title(&view, ev.target());
                    }
                }
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
            <For each=move || width.get() key=|bits| *bits children=table />
            {move || width.with(Option::is_none).then(|| view! {
                <p class="note">"Code tables are drawn for formats of at most 8 bits."</p>
            })}
        </div>
    }
}
