//! Reading a node's attributes, with errors that name the attribute.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::{AttributeProto, NodeProto};
use tract_onnx::tract_hir::internal::*;

/// A node's attributes.
pub(crate) struct Attrs<'a, 'c> {
    node: &'a NodeProto,
    ctx: &'a ParsingContext<'c>,
}

impl<'a, 'c> Attrs<'a, 'c> {
    pub fn new(ctx: &'a ParsingContext<'c>, node: &'a NodeProto) -> Self {
        Attrs { node, ctx }
    }

    fn find(&self, name: &str) -> Option<&'a AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }

    /// Whether the attribute is there.
    pub fn has(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// A list of integers (empty when absent).
    pub fn ints(&self, name: &str) -> &'a [i64] {
        self.find(name).map_or(&[], |a| &a.ints)
    }

    /// A list of integers that must be there and not be empty.
    pub fn required_ints(&self, name: &str) -> TractResult<&'a [i64]> {
        let v = self.ints(name);
        if v.is_empty() {
            bail!("attribute `{name}` is missing or empty");
        }
        Ok(v)
    }

    /// A list of floats (empty when absent).
    pub fn floats(&self, name: &str) -> &'a [f32] {
        self.find(name).map_or(&[], |a| &a.floats)
    }

    /// A list of strings (empty when absent).
    pub fn strings(&self, name: &str) -> TractResult<Vec<String>> {
        self.find(name).map_or(&[][..], |a| &a.strings[..]).iter().map(|s| utf8(name, s)).collect()
    }

    /// One integer.
    pub fn int(&self, name: &str) -> Option<i64> {
        self.find(name).map(|a| a.i)
    }

    /// One float.
    pub fn float(&self, name: &str) -> Option<f32> {
        self.find(name).map(|a| a.f)
    }

    /// One string.
    pub fn string(&self, name: &str) -> TractResult<Option<String>> {
        self.find(name).map(|a| utf8(name, &a.s)).transpose()
    }

    /// A tensor attribute.
    pub fn tensor(&self, name: &str) -> TractResult<Option<Tensor>> {
        match self.find(name) {
            None => Ok(None),
            Some(a) => {
                let proto =
                    a.t.as_ref().with_context(|| format!("attribute `{name}` holds no tensor"))?;
                let t =
                    self.ctx.load_tensor(proto).with_context(|| format!("attribute `{name}`"))?;
                Ok(Some(t))
            }
        }
    }

    /// Real numbers given either as floats (`name`) or as a tensor
    /// (`name_as_tensor`, `f32` or `f64`), as `f64`. Empty when neither is
    /// there; an error when both are.
    pub fn reals(&self, name: &str) -> TractResult<Vec<f64>> {
        let tensor_name = format!("{name}_as_tensor");
        let floats = self.floats(name);
        match self.tensor(&tensor_name)? {
            Some(_) if !floats.is_empty() => {
                bail!("both `{name}` and `{tensor_name}` are set; a node has one or the other")
            }
            Some(t) => super::to_f64(&t).with_context(|| format!("attribute `{tensor_name}`")),
            None => Ok(floats.iter().map(|&v| f64::from(v)).collect()),
        }
    }

    /// A string attribute that must be one of `choices` (its default when
    /// absent).
    pub fn choice<T: Copy>(&self, name: &str, default: T, choices: &[(&str, T)]) -> TractResult<T> {
        let Some(value) = self.string(name)? else { return Ok(default) };
        match choices.iter().find(|(c, _)| *c == value) {
            Some((_, t)) => Ok(*t),
            None => {
                let known: Vec<&str> = choices.iter().map(|(c, _)| *c).collect();
                bail!("attribute `{name}` is `{value}`; expected one of {}", known.join(", "))
            }
        }
    }
}

fn utf8(name: &str, bytes: &[u8]) -> TractResult<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| format_err!("attribute `{name}` is not UTF-8"))
}

/// Checks that `values` has `n` entries.
pub(crate) fn expect_len<T>(name: &str, values: &[T], n: usize, what: &str) -> TractResult<()> {
    if values.len() != n {
        bail!("attribute `{name}` has {} values; expected {n} ({what})", values.len());
    }
    Ok(())
}
