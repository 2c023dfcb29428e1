//! The components of the page, one file each.

pub mod bit_editor;
pub mod code_table;
pub mod compare_table;
pub mod explorer;
pub mod format_picker;
pub mod rounding_box;
pub mod value_panel;
