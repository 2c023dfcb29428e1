//! The comparison table: the figures of several formats side by side (bits, max, min normal,
//! min subnormal, epsilon, number of finite values); the current format can be added.

use crate::components::explorer::ExplorerState;
use crate::text::number;
use leptos::prelude::*;
use lowp_formats::Format;

/// The comparison table of the explorer; `compared` holds the SPECs of its rows.
#[component]
pub fn CompareTable(state: ExplorerState, compared: RwSignal<Vec<String>>) -> impl IntoView {
    let add_current = move |_| {
        let spec = state.format.get_untracked().to_string();
        compared.update(|list| {
            if !list.contains(&spec) {
                list.push(spec);
            }
        });
    };
    let rows = move || {
        compared
            .get()
            .into_iter()
            .map(|spec| {
                let info = spec.parse::<Format>().map(|f| f.info());
                let remove_spec = spec.clone();
                let remove = move |_| compared.update(|list| list.retain(|s| *s != remove_spec));
                let cells = match info {
                    Ok(info) => view! {
                        <td class="num">{info.bits}</td>
                        <td class="mono">{number(info.max)}</td>
                        <td class="mono">{number(info.min_normal)}</td>
                        <td class="mono">{info.min_subnormal.map_or("—".to_string(), number)}</td>
                        <td class="mono">{number(info.epsilon)}</td>
                        <td class="num">{info.finite_values.to_string()}</td>
                    }
                    .into_any(),
                    Err(e) => view! { <td colspan="6" class="error">{e.to_string()}</td> }.into_any(),
                };
                view! {
                    <tr>
                        <th scope="row" class="mono">{spec.clone()}</th>
                        {cells}
                        <td><button class="link" aria-label=format!("remove {spec}") on:click=remove>"remove"</button></td>
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <div class="compare">
            <h3>"Formats compared"</h3>
            <button id="add-compare" on:click=add_current>"add the current format"</button>
            <table class="compare-table" id="compare-table">
                <thead>
                    <tr>
                        <th>"format"</th><th>"bits"</th><th>"max"</th><th>"min normal"</th>
                        <th>"min subnormal"</th><th>"epsilon"</th><th>"finite values"</th><th></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <p class="note">"Block formats: figures relative to a shared exponent of 0."</p>
        </div>
    }
}
