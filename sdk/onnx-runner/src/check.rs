//! Checks a graph's operators before tract reads it, so that an operator
//! the runner lacks is reported once, by name, domain, opset and node,
//! with the list of what is supported (instead of tract's first failure).

use tract_onnx::pb::{GraphProto, ModelProto};

use crate::ops::{ML_OPERATORS, ML_OPSET};

const ML: &str = "ai.onnx.ml";
const STANDARD: &str = "ai.onnx";

/// The standard (`ai.onnx`) operators tract reads.
pub fn standard_operators() -> Vec<String> {
    let mut names: Vec<String> = tract_onnx::onnx()
        .op_register
        .0
        .keys()
        .filter(|k| !ML_OPERATORS.contains(&k.as_str()))
        .cloned()
        .collect();
    names.sort();
    names
}

/// Everything unsupported in `model`, as one message; `None` when all is
/// supported.
pub fn unsupported(model: &ModelProto, file: &str) -> Option<String> {
    let standard = standard_operators();
    let opset = |domain: &str| {
        model.opset_import.iter().find(|o| canonical(&o.domain) == domain).map(|o| o.version)
    };
    let mut problems = Vec::new();
    if let Some(v) = opset(ML).filter(|&v| v > ML_OPSET) {
        problems.push(format!(
            "the graph imports {ML} opset {v}; the runner reads opsets 1 to {ML_OPSET}"
        ));
    }
    let mut missing_ml = false;
    let mut missing_standard = false;
    let mut custom = false;
    if let Some(graph) = &model.graph {
        visit(graph, &mut |index, node_name, op, domain| {
            let domain = canonical(domain);
            let known = match domain {
                ML => ML_OPERATORS.contains(&op),
                STANDARD => standard.iter().any(|s| s == op),
                _ => false,
            };
            if !known {
                missing_ml |= domain == ML;
                missing_standard |= domain == STANDARD;
                custom |= domain != ML && domain != STANDARD;
                let version =
                    opset(domain).map_or_else(|| "not imported".to_string(), |v| v.to_string());
                let name =
                    if node_name.is_empty() { String::new() } else { format!(" `{node_name}`") };
                problems.push(format!(
                    "node #{index}{name} is `{op}` (domain {domain}, opset {version}), which the runner does not support"
                ));
            }
        });
    }
    if problems.is_empty() {
        return None;
    }
    let mut message = format!("{file}: {}", problems.join("; "));
    if missing_ml {
        message.push_str(&format!(". Supported {ML} operators: {}", ML_OPERATORS.join(", ")));
    }
    if missing_standard {
        message.push_str(&format!(". Supported {STANDARD} operators: {}", standard.join(", ")));
    }
    if custom {
        message.push_str(&format!(
            ". Other domains (onnxruntime's com.microsoft, converters' own) are not read: the runner reads {STANDARD} and {ML}"
        ));
    }
    Some(message)
}

/// `ai.onnx` and the empty domain are the same.
fn canonical(domain: &str) -> &str {
    if domain.is_empty() { STANDARD } else { domain }
}

/// Calls `f(index, name, op_type, domain)` for every node, subgraphs
/// (attributes of `If`, `Loop`, `Scan`) included.
fn visit(graph: &GraphProto, f: &mut dyn FnMut(usize, &str, &str, &str)) {
    for (i, node) in graph.node.iter().enumerate() {
        f(i, &node.name, &node.op_type, &node.domain);
        for attr in &node.attribute {
            if let Some(g) = &attr.g {
                visit(g, f);
            }
            for g in &attr.graphs {
                visit(g, f);
            }
        }
    }
}
