//! The value of the edited code: hex and decimal fields (Up/Down step to the neighbouring
//! value), the decoded value, its exact decimal and binary forms, class, ulp and neighbours.

use crate::components::bit_editor::step_value;
use crate::components::explorer::ExplorerState;
use crate::text::{binary_form, exact_decimal, number, with_power};
use crate::values::ValueSet;
use leptos::ev::KeyboardEvent;
use leptos::prelude::*;
use lowp_formats::Rounding;

/// The value panel of the explorer.
#[component]
pub fn ValuePanel(state: ExplorerState) -> impl IntoView {
    let has_codes = move || state.codes.with(|c| c.is_ok());
    // Compared by bits: -0 and +0 (equal as f32) are different values here.
    let value_bits = Memo::new(move |_| state.value().to_bits());
    let value = move || f32::from_bits(value_bits.get());
    let digits = move || {
        state
            .codes
            .with(|c| c.as_ref().map_or(1, |v| v.bits().div_ceil(4)))
    };
    let hex = move || format!("{:0width$X}", state.code.get(), width = digits() as usize);
    let class = move || {
        state.codes.with(|c| {
            c.as_ref()
                .map(|v| v.classify(state.code.get()).name())
                .unwrap_or("")
        })
    };
    let set = move || ValueSet::new(state.format.get(), value());
    // A message about the last typed text, shown while the code it led to is still the one edited.
    let input_message = RwSignal::new((0u32, String::new()));
    let input_error = move || {
        input_message.with(|(code, message)| {
            if *code == state.code.get() {
                message.clone()
            } else {
                String::new()
            }
        })
    };
    let say = move |message: String| input_message.set((state.code.get_untracked(), message));

    let on_hex = move |text: String| {
        let mask = state
            .codes
            .with_untracked(|c| c.as_ref().map_or(0, |v| v.mask()));
        match u32::from_str_radix(text.trim().trim_start_matches("0x"), 16) {
            Ok(code) if code & !mask == 0 => {
                state.code.set(code);
                say(String::new());
            }
            _ => say(format!(
                "`{text}` is not a code of this format (hex, at most {mask:X})"
            )),
        }
    };
    let on_decimal = move |text: String| match text.trim().parse::<f32>() {
        Ok(x) => {
            let set = ValueSet::new(state.format.get_untracked(), x);
            match set.quantize(x, Rounding::Nearest, 0) {
                Ok(rounded) if state.set_value(rounded) => {
                    say(if rounded == x || (x.is_nan() && rounded.is_nan()) {
                        String::new()
                    } else {
                        format!(
                            "{} is not a value of the format: rounded to nearest, {}",
                            number(x),
                            number(rounded)
                        )
                    })
                }
                _ => say(format!("{} has no code in this format", number(x))),
            }
        }
        Err(_) => say(format!("`{text}` is not a number")),
    };
    let arrows = move |ev: KeyboardEvent| match ev.key().as_str() {
        "ArrowUp" => {
            ev.prevent_default();
            step_value(state, true);
        }
        "ArrowDown" => {
            ev.prevent_default();
            step_value(state, false);
        }
        _ => {}
    };
    let neighbour = move |up: bool| {
        let v = value();
        let set = set();
        let next = if up { set.next_up(v) } else { set.next_down(v) };
        match next {
            Some(next) => view! {
                <button class="link" on:click=move |_| { state.set_value(next); }>{number(next)}</button>
            }
            .into_any(),
            None => view! { <span>"none"</span> }.into_any(),
        }
    };

    view! {
        <div class="value-panel" class:hidden=move || !has_codes()>
            <div class="fields">
                <label>
                    "hex "
                    <input id="hex" type="text" class="mono" size="10" spellcheck="false"
                        prop:value=hex
                        on:change=move |ev| on_hex(event_target_value(&ev))
                        on:keydown=move |ev: KeyboardEvent| match ev.key().as_str() {
                            "ArrowUp" | "ArrowDown" => {
                                ev.prevent_default();
                                let mask = state.codes.with_untracked(|c| c.as_ref().map_or(0, |v| v.mask()));
                                let delta = if ev.key() == "ArrowUp" { 1 } else { mask };
                                state.code.update(|c| *c = c.wrapping_add(delta) & mask);
                            }
                            _ => {}
                        }
                    />
                </label>
                <label>
                    "decimal "
                    <input id="decimal" type="text" class="mono" size="16" spellcheck="false"
                        prop:value=move || number(value())
                        on:change=move |ev| on_decimal(event_target_value(&ev))
                        on:keydown=arrows
                    />
                </label>
            </div>
            <p class="error" role="status" id="value-error">{input_error}</p>
            <dl class="facts">
                <dt>"value"</dt>
                <dd id="decoded" class="mono big" aria-live="polite">{move || number(value())}</dd>
                <dt>"exact"</dt>
                <dd id="exact" class="mono wrap">{move || exact_decimal(value())}</dd>
                <dt>"binary"</dt>
                <dd id="binary" class="mono">{move || binary_form(value())}</dd>
                <dt>"class"</dt>
                <dd id="class"><span class=move || format!("class-tag {}", class())>{class}</span></dd>
                <dt>"ulp"</dt>
                <dd id="ulp" class="mono">
                    {move || set().ulp(value()).map_or("—".to_string(), with_power)}
                </dd>
                <dt>"neighbours"</dt>
                <dd id="neighbours" class="mono">
                    "below " {move || neighbour(false)} " · above " {move || neighbour(true)}
                </dd>
            </dl>
        </div>
    }
}
