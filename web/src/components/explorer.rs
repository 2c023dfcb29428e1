//! The format explorer: the format picker, the bit editor with the decoded value, the rounding
//! box, the code table, the number line and the comparison table, all on one shared state.

use crate::codes::CodeView;
use crate::components::bit_editor::BitEditor;
use crate::components::code_table::CodeTable;
use crate::components::compare_table::CompareTable;
use crate::components::format_picker::FormatPicker;
use crate::components::number_line::NumberLine;
use crate::components::rounding_box::RoundingBox;
use crate::components::value_panel::ValuePanel;
use crate::values::ValueSet;
use leptos::prelude::*;
use lowp_formats::{Format, Rounding};

/// The explorer's state: the format and the code in the bit editor.
#[derive(Debug, Clone, Copy)]
pub struct ExplorerState {
    /// The selected format.
    pub format: RwSignal<Format>,
    /// The code being edited (meaningful when the format has codes).
    pub code: RwSignal<u32>,
    /// The code view of the format, or why it has none.
    pub codes: Memo<Result<CodeView, String>>,
}

impl ExplorerState {
    fn new(format: Format) -> Self {
        let format = RwSignal::new(format);
        let codes = Memo::new(move |_| CodeView::new(format.get()));
        let code = RwSignal::new(
            codes
                .get_untracked()
                .ok()
                .and_then(|v| v.encode(1.0).ok())
                .unwrap_or(0),
        );
        Self {
            format,
            code,
            codes,
        }
    }

    /// The value of the current code (NaN when the format has no codes).
    pub fn value(&self) -> f32 {
        self.codes
            .with(|codes| codes.as_ref().ok().map(|v| v.decode(self.code.get())))
            .unwrap_or(f32::NAN)
    }

    /// Switches to `format`, keeping the edited value as well as the new format can (rounded to
    /// nearest; 0 when it has no such value).
    pub fn set_format(&self, format: Format) {
        if format == self.format.get_untracked() {
            return;
        }
        let old = self.codes.with_untracked(|codes| {
            codes
                .as_ref()
                .map(|v| v.decode(self.code.get_untracked()))
                .unwrap_or(1.0)
        });
        let new_codes = CodeView::new(format);
        let code = new_codes
            .ok()
            .and_then(|view| {
                let rounded = ValueSet::new(format, old)
                    .quantize(old, Rounding::Nearest, 0)
                    .ok()?;
                view.encode(rounded).ok()
            })
            .unwrap_or(0);
        self.format.set(format);
        self.code.set(code);
    }

    /// Sets the code to the one of `value` (a value of the format); false when it has none.
    pub fn set_value(&self, value: f32) -> bool {
        let code = self
            .codes
            .with_untracked(|codes| codes.as_ref().ok().and_then(|v| v.encode(value).ok()));
        if let Some(code) = code {
            self.code.set(code);
        }
        code.is_some()
    }
}

/// The format explorer section.
#[component]
pub fn Explorer() -> impl IntoView {
    let state = ExplorerState::new(Format::preset("e4m3").expect("a preset"));
    let target = RwSignal::new("0.3".to_string());
    let compared = RwSignal::new(
        ["fp16", "bf16", "e5m2", "e4m3", "e4m3fn", "binary8(p=3)"]
            .map(String::from)
            .to_vec(),
    );
    view! {
        <section class="explorer" aria-labelledby="explorer-title">
            <h2 id="explorer-title">"Format explorer"</h2>
            <FormatPicker state=state />
            <div class="columns">
                <div class="column">
                    <BitEditor state=state />
                    <ValuePanel state=state />
                </div>
                <div class="column">
                    <RoundingBox state=state target=target />
                </div>
            </div>
            <CodeTable state=state />
            <NumberLine state=state target=target compared=compared />
            <CompareTable state=state compared=compared />
        </section>
    }
}
