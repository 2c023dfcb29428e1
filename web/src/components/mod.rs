//! The components of the page, one file each.

pub mod bit_editor;
pub mod block_inspector;
pub mod check_panel;
pub mod code_table;
pub mod compare_table;
pub mod digit_image;
pub mod explorer;
pub mod format_picker;
pub mod histogram;
pub mod number_line;
pub mod rounding_box;
pub mod tensor_view;
pub mod train_chart;
pub mod train_view;
pub mod value_panel;
