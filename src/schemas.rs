//! Placeholder while the target is being built: it renders no file yet.

use crate::generate::Rendered;
use crate::model::Model;
use crate::wire::Wire;

pub fn render(_model: &Model, _wire: &Wire) -> Rendered {
    Vec::new()
}
