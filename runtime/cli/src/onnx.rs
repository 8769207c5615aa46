//! Reads what `init --lang onnx --from` needs from an ONNX file — the
//! graph's inputs and outputs, its nodes and a few attributes — and derives
//! the runner's `runner.json` from them. A small protobuf reader: the
//! messages and fields read are those of onnx.proto3; everything else is
//! skipped.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde_json::{Value, json};

/// A field value on the wire.
enum Wire<'a> {
    Varint(u64),
    /// Skipped: no field `init` reads is a 64-bit fixed value.
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Iterates over a message's fields.
struct Fields<'a> {
    buf: &'a [u8],
}

impl<'a> Fields<'a> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.buf.split_first().ok_or("truncated varint")?;
            self.buf = rest;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.buf.len() {
            return Err(format!("a field of {n} bytes runs past the end"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn next_field(&mut self) -> Result<Option<(u64, Wire<'a>)>, String> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let value = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Wire::Fixed64
            }
            2 => {
                let n = usize::try_from(self.varint()?).map_err(|_| "length overflow")?;
                Wire::Bytes(self.take(n)?)
            }
            5 => {
                Wire::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| "fixed32")?))
            }
            other => return Err(format!("wire type {other} is not protobuf")),
        };
        Ok(Some((key >> 3, value)))
    }
}

/// Calls `f(field, value)` for each field of `buf`.
fn each<'a>(
    buf: &'a [u8],
    mut f: impl FnMut(u64, Wire<'a>) -> Result<(), String>,
) -> Result<(), String> {
    let mut fields = Fields { buf };
    while let Some((field, value)) = fields.next_field()? {
        f(field, value)?;
    }
    Ok(())
}

fn text(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "a name is not UTF-8".to_string())
}

/// Repeated integers, packed or not.
fn push_ints(out: &mut Vec<i64>, value: Wire<'_>) -> Result<(), String> {
    match value {
        Wire::Varint(v) => out.push(v as i64),
        Wire::Bytes(b) => {
            let mut f = Fields { buf: b };
            while !f.buf.is_empty() {
                out.push(f.varint()? as i64);
            }
        }
        _ => return Err("an integer list of the wrong wire type".into()),
    }
    Ok(())
}

/// Repeated floats, packed or not.
fn push_floats(out: &mut Vec<f32>, value: Wire<'_>) -> Result<(), String> {
    match value {
        Wire::Fixed32(v) => out.push(f32::from_bits(v)),
        Wire::Bytes(b) => {
            for chunk in b.chunks_exact(4) {
                out.push(f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]));
            }
        }
        _ => return Err("a float list of the wrong wire type".into()),
    }
    Ok(())
}

/// ONNX's element types (TensorProto.DataType) the runner feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    F32,
    F64,
    I64,
    I32,
    String,
    Bool,
    Other(i64),
}

impl Elem {
    fn from_code(code: i64) -> Elem {
        match code {
            1 => Elem::F32,
            11 => Elem::F64,
            7 => Elem::I64,
            6 => Elem::I32,
            8 => Elem::String,
            9 => Elem::Bool,
            other => Elem::Other(other),
        }
    }

    /// The name runner.json uses.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Elem::F32 => "f32",
            Elem::F64 => "f64",
            Elem::I64 => "i64",
            Elem::I32 => "i32",
            Elem::String => "string",
            Elem::Bool => "bool",
            Elem::Other(_) => return None,
        })
    }

    fn is_real(self) -> bool {
        matches!(self, Elem::F32 | Elem::F64)
    }
}

/// A graph input or output.
#[derive(Debug, Clone)]
pub struct ValueInfo {
    pub name: String,
    /// `None` for a sequence or map (ZipMap's output).
    pub elem: Option<Elem>,
    /// Each dimension's size when the graph states it.
    pub dims: Vec<Option<i64>>,
}

/// An attribute: the kinds of values `init` reads.
#[derive(Debug, Clone, Default)]
pub struct Attribute {
    pub ints: Vec<i64>,
    pub floats: Vec<f32>,
    pub strings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub op: String,
    pub domain: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: HashMap<String, Attribute>,
}

/// A constant of the graph, with its values when they are integers or
/// strings (class labels).
#[derive(Debug, Clone, Default)]
pub struct Initializer {
    pub ints: Vec<i64>,
    pub strings: Vec<String>,
}

/// What `init` reads from an ONNX file.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
    pub nodes: Vec<Node>,
    pub initializers: HashMap<String, Initializer>,
    /// (domain, version) of each opset the model imports.
    pub opsets: Vec<(String, i64)>,
}

impl Graph {
    /// Reads a serialized ModelProto.
    pub fn parse(bytes: &[u8]) -> Result<Graph, String> {
        let mut graph = Graph::default();
        let mut found_graph = false;
        each(bytes, |field, value| {
            match (field, value) {
                (7, Wire::Bytes(b)) => {
                    found_graph = true;
                    read_graph(b, &mut graph)?;
                }
                (8, Wire::Bytes(b)) => {
                    let (mut domain, mut version) = (String::new(), 0);
                    each(b, |f, v| {
                        match (f, v) {
                            (1, Wire::Bytes(s)) => domain = text(s)?,
                            (2, Wire::Varint(n)) => version = n as i64,
                            _ => {}
                        }
                        Ok(())
                    })?;
                    graph.opsets.push((domain, version));
                }
                _ => {}
            }
            Ok(())
        })
        .map_err(|e| format!("not an ONNX model ({e})"))?;
        if !found_graph {
            return Err("not an ONNX model (no graph in it)".into());
        }
        // Older files list initializers among the inputs.
        graph.inputs.retain(|i| !graph.initializers.contains_key(&i.name));
        Ok(graph)
    }
}

fn read_graph(b: &[u8], graph: &mut Graph) -> Result<(), String> {
    each(b, |field, value| {
        match (field, value) {
            (1, Wire::Bytes(n)) => graph.nodes.push(read_node(n)?),
            (5, Wire::Bytes(t)) => {
                let (name, init) = read_initializer(t)?;
                graph.initializers.insert(name, init);
            }
            (11, Wire::Bytes(v)) => graph.inputs.push(read_value_info(v)?),
            (12, Wire::Bytes(v)) => graph.outputs.push(read_value_info(v)?),
            _ => {}
        }
        Ok(())
    })
}

fn read_node(b: &[u8]) -> Result<Node, String> {
    let mut node = Node {
        op: String::new(),
        domain: String::new(),
        inputs: vec![],
        outputs: vec![],
        attributes: HashMap::new(),
    };
    each(b, |field, value| {
        match (field, value) {
            (1, Wire::Bytes(s)) => node.inputs.push(text(s)?),
            (2, Wire::Bytes(s)) => node.outputs.push(text(s)?),
            (4, Wire::Bytes(s)) => node.op = text(s)?,
            (7, Wire::Bytes(s)) => node.domain = text(s)?,
            (5, Wire::Bytes(a)) => {
                let (name, attribute) = read_attribute(a)?;
                node.attributes.insert(name, attribute);
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(node)
}

fn read_attribute(b: &[u8]) -> Result<(String, Attribute), String> {
    let mut name = String::new();
    let mut a = Attribute::default();
    each(b, |field, value| {
        match (field, value) {
            (1, Wire::Bytes(s)) => name = text(s)?,
            (3, Wire::Varint(v)) => a.ints.push(v as i64),
            (2, Wire::Fixed32(v)) => a.floats.push(f32::from_bits(v)),
            (4, Wire::Bytes(s)) => a.strings.push(text(s)?),
            (7, v) => push_floats(&mut a.floats, v)?,
            (8, v) => push_ints(&mut a.ints, v)?,
            (9, Wire::Bytes(s)) => a.strings.push(text(s)?),
            _ => {}
        }
        Ok(())
    })?;
    Ok((name, a))
}

fn read_initializer(b: &[u8]) -> Result<(String, Initializer), String> {
    let (mut name, mut init, mut data_type, mut raw) =
        (String::new(), Initializer::default(), 0, None);
    each(b, |field, value| {
        match (field, value) {
            (2, Wire::Varint(v)) => data_type = v as i64,
            // int32_data (int32 and smaller types), int64_data
            (5 | 7, v) => push_ints(&mut init.ints, v)?,
            (6, Wire::Bytes(s)) => init.strings.push(text(s)?),
            (8, Wire::Bytes(s)) => name = text(s)?,
            (9, Wire::Bytes(r)) => raw = Some(r),
            _ => {}
        }
        Ok(())
    })?;
    match (data_type, raw) {
        (7, Some(raw)) => {
            init.ints = raw
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect();
        }
        (6, Some(raw)) => {
            init.ints = raw
                .chunks_exact(4)
                .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect();
        }
        _ => {}
    }
    Ok((name, init))
}

fn read_value_info(b: &[u8]) -> Result<ValueInfo, String> {
    let mut info = ValueInfo { name: String::new(), elem: None, dims: Vec::new() };
    each(b, |field, value| {
        match (field, value) {
            (1, Wire::Bytes(s)) => info.name = text(s)?,
            (2, Wire::Bytes(t)) => each(t, |f, v| {
                // TypeProto.tensor_type; sequences and maps stay `None`.
                if let (1, Wire::Bytes(tensor)) = (f, v) {
                    each(tensor, |f, v| {
                        match (f, v) {
                            (1, Wire::Varint(code)) => {
                                info.elem = Some(Elem::from_code(code as i64))
                            }
                            (2, Wire::Bytes(shape)) => each(shape, |f, v| {
                                if let (1, Wire::Bytes(dim)) = (f, v) {
                                    let mut size = None;
                                    each(dim, |f, v| {
                                        if let (1, Wire::Varint(n)) = (f, v) {
                                            size = Some(n as i64);
                                        }
                                        Ok(())
                                    })?;
                                    info.dims.push(size);
                                }
                                Ok(())
                            })?,
                            _ => {}
                        }
                        Ok(())
                    })?;
                }
                Ok(())
            })?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(info)
}

/// Operators a value passes through unchanged in meaning (its rows and,
/// for classifier outputs, its classes).
const PASS_THROUGH: &[&str] =
    &["Identity", "Cast", "ZipMap", "Reshape", "Squeeze", "Flatten", "Normalizer"];

const CLASSIFIERS: &[&str] = &["TreeEnsembleClassifier", "LinearClassifier", "SVMClassifier"];

impl Graph {
    fn producer(&self, tensor: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.outputs.iter().any(|o| o == tensor))
    }

    /// Class labels as column-name parts, from a node's attributes.
    fn classes_of(node: &Node) -> Option<Vec<String>> {
        for key in ["classlabels_int64s", "classlabels_ints", "classlabels_strings"] {
            if let Some(a) = node.attributes.get(key) {
                if !a.ints.is_empty() {
                    return Some(a.ints.iter().map(i64::to_string).collect());
                }
                if !a.strings.is_empty() {
                    return Some(a.strings.clone());
                }
            }
        }
        None
    }

    /// What a graph output is, following pass-through operators back to a
    /// classifier: its label (output 0) or its class scores (output 1),
    /// with the classes. skl2onnx's double-precision classifiers have no
    /// classifier node: their label picks from a constant of classes
    /// (ArrayFeatureExtractor), which names the classes of a sibling
    /// probability output.
    fn role(&self, output: &str) -> Role {
        let mut tensor = output.to_string();
        let mut classes = None;
        for _ in 0..self.nodes.len() {
            let Some(node) = self.producer(&tensor) else { break };
            if node.op == "ZipMap" {
                classes = classes.or_else(|| Graph::classes_of(node));
            }
            if CLASSIFIERS.contains(&node.op.as_str()) {
                let classes = classes.or_else(|| Graph::classes_of(node)).unwrap_or_default();
                return match node.outputs.iter().position(|o| *o == tensor) {
                    Some(0) => Role::Label,
                    _ => Role::Scores(classes),
                };
            }
            if node.op == "ArrayFeatureExtractor"
                && let Some(init) = node.inputs.first().and_then(|i| self.initializers.get(i))
            {
                let labels: Vec<String> = if init.strings.is_empty() {
                    init.ints.iter().map(i64::to_string).collect()
                } else {
                    init.strings.clone()
                };
                if !labels.is_empty() {
                    return Role::LabelFrom(labels);
                }
            }
            if !PASS_THROUGH.contains(&node.op.as_str()) {
                break;
            }
            match node.inputs.first() {
                Some(input) => tensor = input.clone(),
                None => break,
            }
        }
        match classes {
            Some(c) => Role::Scores(c),
            None => Role::Plain,
        }
    }

    /// Whether a missing value fed into `input` reaches something that
    /// handles it: an Imputer, or a tree ensemble with missing-value tracks.
    fn handles_missing(&self, input: &str) -> bool {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut queue: VecDeque<&str> = VecDeque::from([input]);
        while let Some(tensor) = queue.pop_front() {
            for node in self.nodes.iter().filter(|n| n.inputs.iter().any(|i| i == tensor)) {
                let tracks = node
                    .attributes
                    .get("nodes_missing_value_tracks_true")
                    .is_some_and(|a| a.ints.iter().any(|&t| t != 0));
                if node.op == "Imputer" || (node.op.starts_with("TreeEnsemble") && tracks) {
                    return true;
                }
                for o in &node.outputs {
                    if seen.insert(o) {
                        queue.push_back(o);
                    }
                }
            }
        }
        false
    }

    /// Categories a string input is compared with (OneHotEncoder,
    /// LabelEncoder), for a sample request.
    fn categories_for(&self, input: &str) -> Option<String> {
        self.nodes.iter().filter(|n| n.inputs.first().is_some_and(|i| i == input)).find_map(|n| {
            ["cats_strings", "keys_strings", "classes_strings"]
                .iter()
                .find_map(|k| n.attributes.get(*k).and_then(|a| a.strings.first().cloned()))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Role {
    /// A classifier's predicted class.
    Label,
    /// A label picked from these classes (no classifier node).
    LabelFrom(Vec<String>),
    /// A classifier's score per class.
    Scores(Vec<String>),
    Plain,
}

/// `runner.json` for a graph, and a one-row request to test it with.
#[derive(Debug)]
pub struct Derived {
    pub config: Value,
    pub request: Value,
    /// What was decided, for the user: one line each.
    pub notes: Vec<String>,
}

/// Derives `runner.json` from the graph's own inputs and outputs: one input
/// per graph input (`[rows, k]` fed from k columns, `<tensor>_<j>`, or one
/// column named as the tensor), missing values passed as NaN where the
/// graph handles them, classifier outputs as a `label` column and one
/// `probability_<class>` column per class, other outputs one column per
/// value.
pub fn derive(graph: &Graph, model_file: &str) -> Result<Derived, String> {
    if graph.inputs.is_empty() {
        return Err("the graph has no inputs".into());
    }
    let mut inputs = Vec::new();
    let mut sample = BTreeMap::new();
    let mut notes = Vec::new();
    for input in &graph.inputs {
        let elem = input.elem.ok_or_else(|| {
            format!("input `{}` is not a tensor; the runner feeds tensors", input.name)
        })?;
        let ty = elem.name().ok_or_else(|| {
            format!("input `{}` holds ONNX element type {elem:?}; the runner feeds f32, f64, i64, i32, string and bool", input.name)
        })?;
        let width = match input.dims.as_slice() {
            [_] => 1,
            [_, Some(w)] if *w >= 1 => *w,
            [_, _] => {
                return Err(format!(
                    "input `{}` does not state how many columns it has; export it with a fixed width (e.g. [None, 4])",
                    input.name
                ));
            }
            [] => {
                return Err(format!(
                    "input `{}` has no shape; the runner feeds [rows] or [rows, columns]",
                    input.name
                ));
            }
            dims => {
                return Err(format!(
                    "input `{}` has {} dimensions; the runner feeds [rows] or [rows, columns]",
                    input.name,
                    dims.len()
                ));
            }
        };
        let columns: Vec<String> = if width == 1 {
            vec![input.name.clone()]
        } else {
            (0..width).map(|j| format!("{}_{j}", input.name)).collect()
        };
        let nan = elem.is_real() && graph.handles_missing(&input.name);
        let mut spec = json!({"tensor": input.name, "type": ty, "columns": columns});
        if nan {
            spec["missing"] = json!("nan");
            notes.push(format!(
                "input `{}`: missing values go into the graph as NaN (it handles them)",
                input.name
            ));
        }
        inputs.push(spec);
        let value = match elem {
            Elem::String => json!([graph.categories_for(&input.name).unwrap_or_default()]),
            Elem::Bool => json!([false]),
            Elem::I64 | Elem::I32 => json!([0]),
            _ => json!([0.0]),
        };
        for c in &columns {
            sample.insert(c.clone(), value.clone());
        }
    }
    let mut outputs = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    let label_classes: Option<Vec<String>> =
        graph.outputs.iter().find_map(|o| match graph.role(&o.name) {
            Role::LabelFrom(c) => Some(c),
            _ => None,
        });
    for output in &graph.outputs {
        let width = match output.dims.as_slice() {
            [] | [_] => Some(1),
            [_, rest @ ..] => rest.iter().try_fold(1i64, |acc, d| d.map(|d| acc * d)),
        };
        let columns: Vec<String> = match graph.role(&output.name) {
            Role::Label | Role::LabelFrom(_) => vec!["label".to_string()],
            Role::Scores(classes) if !classes.is_empty() => {
                classes.iter().map(|c| format!("probability_{c}")).collect()
            }
            Role::Scores(_) | Role::Plain => {
                let width = match (width, &label_classes) {
                    (Some(w), _) => w,
                    (None, Some(classes)) => classes.len() as i64,
                    (None, None) => {
                        return Err(format!(
                            "output `{}` does not state how many values a row gets; export it with a fixed width",
                            output.name
                        ));
                    }
                };
                match &label_classes {
                    Some(classes)
                        if classes.len() as i64 == width
                            && output.elem.is_some_and(Elem::is_real) =>
                    {
                        classes.iter().map(|c| format!("probability_{c}")).collect()
                    }
                    _ if width == 1 => vec![output.name.clone()],
                    _ => (0..width).map(|j| format!("{}_{j}", output.name)).collect(),
                }
            }
        };
        for c in &columns {
            if !names.insert(c.clone()) {
                return Err(format!(
                    "two outputs would both make column `{c}`; rename one in runner.json by hand"
                ));
            }
        }
        outputs.push(json!({"tensor": output.name, "columns": columns}));
    }
    let config = json!({"format": "mlops-onnx/2", "model": model_file, "inputs": inputs, "outputs": outputs});
    Ok(Derived { config, request: json!({"data": sample}), notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes a field with a length-delimited payload.
    fn bytes_field(field: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = varint(field << 3 | 2);
        out.extend(varint(payload.len() as u64));
        out.extend_from_slice(payload);
        out
    }

    fn varint(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    fn value_info(name: &str, elem: u64, dims: &[Option<u64>]) -> Vec<u8> {
        let mut shape = Vec::new();
        for d in dims {
            let dim = match d {
                Some(n) => [varint(1 << 3), varint(*n)].concat(),
                None => bytes_field(2, b"N"),
            };
            shape.extend(bytes_field(1, &dim));
        }
        let tensor = [varint(1 << 3), varint(elem), bytes_field(2, &shape)].concat();
        [bytes_field(1, name.as_bytes()), bytes_field(2, &bytes_field(1, &tensor))].concat()
    }

    fn node(op: &str, inputs: &[&str], outputs: &[&str], attrs: &[(&str, &[i64])]) -> Vec<u8> {
        let mut n = Vec::new();
        for i in inputs {
            n.extend(bytes_field(1, i.as_bytes()));
        }
        for o in outputs {
            n.extend(bytes_field(2, o.as_bytes()));
        }
        n.extend(bytes_field(4, op.as_bytes()));
        n.extend(bytes_field(7, b"ai.onnx.ml"));
        for (name, ints) in attrs {
            let packed: Vec<u8> = ints.iter().flat_map(|&v| varint(v as u64)).collect();
            n.extend(bytes_field(
                5,
                &[bytes_field(1, name.as_bytes()), bytes_field(8, &packed)].concat(),
            ));
        }
        n
    }

    fn classifier_model() -> Vec<u8> {
        let graph = [
            bytes_field(
                1,
                &node(
                    "TreeEnsembleClassifier",
                    &["X"],
                    &["label", "scores"],
                    &[
                        ("classlabels_int64s", &[3, 7]),
                        ("nodes_missing_value_tracks_true", &[0, 1]),
                    ],
                ),
            ),
            bytes_field(
                1,
                &node(
                    "ZipMap",
                    &["scores"],
                    &["probabilities"],
                    &[("classlabels_int64s", &[3, 7])],
                ),
            ),
            bytes_field(11, &value_info("X", 1, &[None, Some(3)])),
            bytes_field(11, &value_info("colour", 8, &[None, Some(1)])),
            bytes_field(12, &value_info("label", 7, &[None])),
            bytes_field(12, &bytes_field(1, b"probabilities")),
        ]
        .concat();
        [bytes_field(7, &graph)].concat()
    }

    #[test]
    fn a_classifier_gets_a_label_and_a_probability_per_class() {
        let graph = Graph::parse(&classifier_model()).expect("parse");
        assert_eq!(graph.inputs.len(), 2);
        let d = derive(&graph, "model.onnx").expect("derive");
        assert_eq!(
            d.config["inputs"],
            json!([
                {"tensor": "X", "type": "f32", "columns": ["X_0", "X_1", "X_2"], "missing": "nan"},
                {"tensor": "colour", "type": "string", "columns": ["colour"]}
            ])
        );
        assert_eq!(
            d.config["outputs"],
            json!([
                {"tensor": "label", "columns": ["label"]},
                {"tensor": "probabilities", "columns": ["probability_3", "probability_7"]}
            ])
        );
        assert_eq!(d.request["data"]["X_1"], json!([0.0]));
        assert_eq!(d.request["data"]["colour"], json!([""]));
    }

    #[test]
    fn not_onnx_is_refused_with_a_reason() {
        assert!(
            Graph::parse(b"hello world")
                .expect_err("not protobuf")
                .starts_with("not an ONNX model")
        );
        assert!(Graph::parse(&[]).expect_err("empty").contains("no graph"));
    }

    #[test]
    fn an_input_without_a_width_is_refused() {
        let graph = [
            bytes_field(11, &value_info("X", 1, &[None, None])),
            bytes_field(12, &value_info("y", 1, &[None, Some(1)])),
        ]
        .concat();
        let graph = Graph::parse(&bytes_field(7, &graph)).expect("parse");
        let err = derive(&graph, "m.onnx").expect_err("no width");
        assert!(err.contains("does not state how many columns"), "{err}");
    }
}
