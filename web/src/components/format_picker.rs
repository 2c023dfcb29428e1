//! The format picker: a SPEC text box (with an inline error for a bad SPEC), a menu of presets
//! and family examples, and one field per parameter of the format.

use crate::components::explorer::ExplorerState;
use crate::spec_params::{FAMILY_EXAMPLES, parameters, spec_text};
use leptos::prelude::*;
use lowp_formats::{Format, OverflowPolicy};

/// The format picker of the explorer.
#[component]
pub fn FormatPicker(state: ExplorerState) -> impl IntoView {
    let text = RwSignal::new(state.format.get_untracked().to_string());
    let error = RwSignal::new(None::<String>);
    let apply = move |spec: String| {
        text.set(spec.clone());
        match spec.trim().parse::<Format>() {
            Ok(format) => {
                error.set(None);
                state.set_format(format);
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    let params = Memo::new(move |_| parameters(&state.format.get()));
    let set_param = move |index: usize, value: String| {
        let (family, mut pairs) = params.get_untracked();
        pairs[index].1 = value;
        apply(spec_text(&family, &pairs));
    };
    view! {
        <div class="picker">
            <label class="spec">
                "Format SPEC "
                <input
                    id="spec"
                    type="text"
                    spellcheck="false"
                    autocomplete="off"
                    aria-invalid=move || error.with(|e| e.is_some()).to_string()
                    aria-describedby="spec-error"
                    prop:value=move || text.get()
                    on:input=move |ev| apply(event_target_value(&ev))
                />
            </label>
            <label>
                " or pick "
                <select
                    id="preset"
                    on:change=move |ev| apply(event_target_value(&ev))
                    prop:value=move || {
                        let spec = state.format.get().to_string();
                        if Format::PRESET_NAMES.contains(&spec.as_str()) { spec } else { String::new() }
                    }
                >
                    <option value="">"—"</option>
                    <optgroup label="presets">
                        {Format::PRESET_NAMES
                            .iter()
                            .map(|name| view! { <option value=*name>{*name}</option> })
                            .collect_view()}
                    </optgroup>
                    <optgroup label="families">
                        {FAMILY_EXAMPLES
                            .iter()
                            .map(|spec| view! { <option value=*spec>{*spec}</option> })
                            .collect_view()}
                    </optgroup>
                </select>
            </label>
            <p id="spec-error" class="error" role="alert">
                {move || error.get().unwrap_or_default()}
            </p>
            <div class="params" aria-label="parameters">
                <span class="family">{move || params.get().0}</span>
                {move || {
                    params
                        .get()
                        .1
                        .into_iter()
                        .enumerate()
                        .map(|(index, (key, value))| param_field(index, key, value, set_param))
                        .collect_view()
                }}
            </div>
        </div>
    }
}

/// One parameter: a checkbox for booleans, a menu for the P3109 overflow policy, else a number.
fn param_field(
    index: usize,
    key: String,
    value: String,
    set_param: impl Fn(usize, String) + Copy + 'static,
) -> AnyView {
    let id = format!("param-{key}");
    if value == "true" || value == "false" {
        let checked = value == "true";
        view! {
            <label class="param">
                <input
                    id=id
                    type="checkbox"
                    prop:checked=checked
                    on:change=move |ev| set_param(index, event_target_checked(&ev).to_string())
                />
                {key}
            </label>
        }
        .into_any()
    } else if key == "overflow" {
        let policies = [
            OverflowPolicy::SaturateInfty,
            OverflowPolicy::SaturateMaxFloat,
            OverflowPolicy::SaturateMaxFloat2,
        ];
        view! {
            <label class="param">
                {key} " "
                <select id=id on:change=move |ev| set_param(index, event_target_value(&ev))>
                    {policies
                        .map(|p| {
                            view! {
                                <option value=p.name() selected=p.name() == value>
                                    {p.name()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
        }
        .into_any()
    } else {
        view! {
            <label class="param">
                {key} " "
                <input
                    id=id
                    class="num"
                    type="text"
                    inputmode="numeric"
                    size="5"
                    prop:value=value
                    on:change=move |ev| set_param(index, event_target_value(&ev))
                />
            </label>
        }
        .into_any()
    }
}
