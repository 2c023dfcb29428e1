//! The per-block inspector of block formats: one row per block (shared exponent, max |x|,
//! errors, flushed values); selecting a block lists its elements before and after.

use crate::tensor::BlockSummary;
use crate::text::{figure, number};
use leptos::prelude::*;

/// Blocks listed at most (the rest are summarised in one line).
const MAX_ROWS: usize = 64;
/// Elements of the selected block listed at most.
const MAX_ELEMENTS: usize = 32;

/// The inspector of `blocks` of a tensor `input` quantized to `output`; `selected` is the
/// block whose elements are listed.
#[component]
pub fn BlockInspector(
    blocks: Vec<BlockSummary>,
    input: Vec<f32>,
    output: Vec<f32>,
    selected: RwSignal<usize>,
) -> impl IntoView {
    let count = blocks.len();
    let rows = blocks
        .iter()
        .take(MAX_ROWS)
        .enumerate()
        .map(|(index, block)| {
            view! {
                <tr class:selected=move || selected.get() == index>
                    <td>
                        <button class="link" on:click=move |_| selected.set(index)>{format!("block {index}")}</button>
                    </td>
                    <td>{block.elements.len()}</td>
                    <td class="mono">{block.shared.map_or("—".to_string(), |e| e.to_string())}</td>
                    <td class="mono">{number(block.max_abs)}</td>
                    <td class="mono">{figure(block.stats.max_abs, 3)}</td>
                    <td class="mono">{figure(block.stats.mean_rel, 3)}</td>
                    <td class="mono">{format!("{:.1}%", block.stats.flushed_pct)}</td>
                </tr>
            }
        })
        .collect_view();
    let members: Vec<Vec<usize>> = blocks.into_iter().map(|b| b.elements).collect();
    let elements = move || {
        let index = selected.get().min(count.saturating_sub(1));
        members.get(index).map(|elements| {
            elements
                .iter()
                .take(MAX_ELEMENTS)
                .map(|&i| {
                    view! {
                        <tr>
                            <td>{i}</td>
                            <td class="mono">{number(input[i])}</td>
                            <td class="mono">{number(output[i])}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <div class="block-inspector">
            <h4>{format!("Blocks ({count})")}</h4>
            <div class="columns">
                <table class="blocks" id="blocks">
                    <thead>
                        <tr>
                            <th>"block"</th><th>"elements"</th><th>"shared e"</th><th>"max |x|"</th>
                            <th>"max abs err"</th><th>"mean rel err"</th><th>"flushed"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
                <table class="blocks" id="block-elements">
                    <thead><tr><th>"index"</th><th>"x"</th><th>"quantized"</th></tr></thead>
                    <tbody>{elements}</tbody>
                </table>
            </div>
            {(count > MAX_ROWS).then(|| view! { <p class="note">{format!("first {MAX_ROWS} of {count} blocks listed")}</p> })}
        </div>
    }
}
