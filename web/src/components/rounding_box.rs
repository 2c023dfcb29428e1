//! The target-value box: one value rounded to the format under every rounding mode, with the
//! two candidates of stochastic rounding and their exact probabilities.

use crate::components::explorer::ExplorerState;
use crate::text::{exact_decimal, figure, number};
use crate::values::{DETERMINISTIC_MODES, ValueSet};
use leptos::prelude::*;

/// The rounding box of the explorer.
#[component]
pub fn RoundingBox(state: ExplorerState, target: RwSignal<String>) -> impl IntoView {
    // By bits: -0 and +0 are different targets.
    let parsed_bits =
        Memo::new(move |_| target.with(|t| t.trim().parse::<f32>().ok().map(f32::to_bits)));
    let parsed = move || parsed_bits.get().map(f32::from_bits);
    let bits_text = RwSignal::new(String::new());
    let bits = move || {
        bits_text
            .with(|t| t.trim().parse::<u32>().ok())
            .filter(|b| (1..=32).contains(b))
            .unwrap_or_else(|| state.format.get().default_stochastic_bits())
    };
    let rows = move || {
        let Some(x) = parsed() else {
            return view! { <p class="error">"not a number"</p> }.into_any();
        };
        let set = ValueSet::new(state.format.get(), x);
        let codes = state.codes.get().ok();
        let code_of = move |v: f32| {
            codes
                .and_then(|c| {
                    c.encode(v)
                        .ok()
                        .map(|code| format!("{code:0w$X}", w = c.bits().div_ceil(4) as usize))
                })
                .unwrap_or_default()
        };
        let deterministic = DETERMINISTIC_MODES
            .iter()
            .map(|mode| {
                let (result, code, error) = match set.quantize(x, *mode, 0) {
                    Ok(q) => (
                        number(q),
                        code_of(q),
                        if q.is_finite() {
                            figure(f64::from(q) - f64::from(x), 4)
                        } else {
                            String::new()
                        },
                    ),
                    Err(_) => ("not defined".to_string(), String::new(), String::new()),
                };
                view! {
                    <tr data-mode=mode.name()>
                        <th scope="row">{mode.name()}</th>
                        <td class="mono result">{result}</td>
                        <td class="mono">{code}</td>
                        <td class="mono">{error}</td>
                    </tr>
                }
            })
            .collect_view();
        let stochastic = match set.stochastic_split(x, bits()) {
            Some(split) if split.p_high == 0.0 || split.low.to_bits() == split.high.to_bits() => view! {
                <tr data-mode="stochastic">
                    <th scope="row">{format!("stochastic (r={})", bits())}</th>
                    <td class="mono result" colspan="3">
                        <span class="sr-low">{number(split.low)}</span>
                        " with p = 1"
                        <div class="bar" role="img" aria-label="probability of the larger magnitude 0%">
                            <div class="bar-fill" style="width: 0%"></div>
                        </div>
                    </td>
                </tr>
            }
            .into_any(),
            Some(split) => {
                let p_high = split.p_high;
                let percent = format!("{:.1}%", 100.0 * p_high);
                view! {
                    <tr data-mode="stochastic">
                        <th scope="row">{format!("stochastic (r={})", bits())}</th>
                        <td class="mono result" colspan="3">
                            <span class="sr-low">{number(split.low)}</span>
                            {format!(" with p = {}", figure(1.0 - p_high, 6))}
                            " · "
                            <span class="sr-high">{number(split.high)}</span>
                            {format!(" with p = {}", figure(p_high, 6))}
                            <div class="bar" role="img" aria-label=format!("probability of the larger magnitude {percent}")>
                                <div class="bar-fill" style=format!("width: {:.2}%", 100.0 * p_high)></div>
                            </div>
                        </td>
                    </tr>
                }
                .into_any()
            }
            None => view! {
                <tr data-mode="stochastic">
                    <th scope="row">"stochastic"</th>
                    <td colspan="3">"not defined for this format"</td>
                </tr>
            }
            .into_any(),
        };
        view! {
            <p class="mono small">"x = " {exact_decimal(x)}</p>
            <table class="modes">
                <thead>
                    <tr><th>"mode"</th><th>"result"</th><th>"code"</th><th>"result − x"</th></tr>
                </thead>
                <tbody>{deterministic}{stochastic}</tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <div class="rounding-box">
            <h3>"Target value under every rounding mode"</h3>
            <div class="fields">
                <label>
                    "x = "
                    <input id="target" type="text" class="mono" size="16" spellcheck="false"
                        prop:value=move || target.get()
                        on:input=move |ev| target.set(event_target_value(&ev))
                    />
                </label>
                <label>
                    " random bits r "
                    <input id="sr-bits" type="text" class="num" size="3" inputmode="numeric"
                        placeholder=move || state.format.get().default_stochastic_bits().to_string()
                        prop:value=move || bits_text.get()
                        on:input=move |ev| bits_text.set(event_target_value(&ev))
                    />
                </label>
            </div>
            <div id="modes">{rows}</div>
        </div>
    }
}
