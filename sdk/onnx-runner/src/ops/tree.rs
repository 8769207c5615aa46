//! Tree ensembles: `TreeEnsembleRegressor` and `TreeEnsembleClassifier`
//! (opsets 1 and 3: every node mode, `*_as_tensor` attributes, missing-value
//! tracks, aggregate functions, base values, every post transform) and
//! `TreeEnsemble` (opset 5, set-membership splits included).
//!
//! All three become one [`Ensemble`]: nodes in one array (a leaf holds a
//! run of weights), one root per tree. Inputs are compared as `f64`, which
//! for `f32` inputs and thresholds is the same comparison as in `f32`;
//! scores are summed in `f64`.

use std::collections::HashMap;
use std::sync::Arc;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::attrs::expect_len;
use super::post::{PostTransform, logistic, probit};
use super::{
    Attrs, Kernel, Labels, NUMERIC, as_f64_rows, expect_type, from_f64, rows_and_width, rows_of,
};

/// How a node compares its feature with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
    /// The feature is one of a set of values (`TreeEnsemble` only).
    Member,
    Leaf,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    threshold: f64,
    /// The feature compared; for a leaf, its first weight.
    feature: u32,
    /// Where to go when the comparison holds; for a leaf, how many weights.
    yes: u32,
    /// Where to go otherwise.
    no: u32,
    mode: Mode,
    /// A missing (NaN) feature takes the `yes` branch.
    missing_yes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Average,
    Min,
    Max,
}

/// The trees, their leaves' weights and how leaf weights combine.
#[derive(Debug)]
struct Ensemble {
    nodes: Vec<Node>,
    /// The root node of each tree.
    roots: Vec<u32>,
    /// (target or class, weight) runs, one per leaf.
    weights: Vec<(u32, f64)>,
    /// For `Member` nodes: (node, sorted values).
    members: Vec<(u32, Vec<f64>)>,
    targets: usize,
    aggregate: Aggregate,
    base_values: Vec<f64>,
    post: PostTransform,
    /// The highest feature index any node reads.
    max_feature: usize,
    /// The same trees laid out for speed, when every branch compares the
    /// same way (as every converter's output does).
    packed: Option<Packed>,
}

impl Ensemble {
    /// Adds the packed layout when the trees allow it.
    fn pack(mut self) -> Ensemble {
        self.packed = Packed::new(&self);
        self
    }

    /// The leaf (its index in `nodes`) that `x` reaches in tree `t`.
    #[inline]
    fn leaf_index(&self, t: usize, x: &[f64]) -> usize {
        match &self.packed {
            // A packed leaf reads feature 0 (and ignores it): a row has one.
            Some(p) if !x.is_empty() => p.leaf(t, x),
            _ => self.leaf(self.roots[t], x),
        }
    }

    /// The leaf (its index in `nodes`) `x` reaches in the tree rooted at
    /// `root`: any mix of modes, set membership, missing-value tracks.
    fn leaf(&self, root: u32, x: &[f64]) -> usize {
        let mut at = root as usize;
        loop {
            let node = &self.nodes[at];
            if node.mode == Mode::Leaf {
                return at;
            }
            let v = x[node.feature as usize];
            let holds = match node.mode {
                Mode::Leaf => unreachable!("leaves return above"),
                Mode::Leq => v <= node.threshold,
                Mode::Lt => v < node.threshold,
                Mode::Gte => v >= node.threshold,
                Mode::Gt => v > node.threshold,
                Mode::Eq => v == node.threshold,
                Mode::Neq => v != node.threshold,
                Mode::Member => self.is_member(at, v),
            };
            at =
                if holds || (node.missing_yes && v.is_nan()) { node.yes } else { node.no } as usize;
        }
    }

    /// Whether `v` is in the set of the `Member` node at `at` (sets are
    /// sorted, with −0 stored as 0).
    fn is_member(&self, at: usize, v: f64) -> bool {
        let v = v + 0.0;
        self.members
            .binary_search_by_key(&(at as u32), |(i, _)| *i)
            .is_ok_and(|i| self.members[i].1.binary_search_by(|m| m.total_cmp(&v)).is_ok())
    }

    /// The raw scores of one row: per target, the combined leaf weights and
    /// whether any leaf gave that target a weight.
    fn scores(&self, x: &[f64], scores: &mut [f64], has: &mut [bool]) {
        scores.fill(0.0);
        has.fill(false);
        for t in 0..self.roots.len() {
            let leaf = &self.nodes[self.leaf_index(t, x)];
            let run = leaf.feature as usize..(leaf.feature + leaf.yes) as usize;
            for &(target, w) in &self.weights[run] {
                let (s, h) = (&mut scores[target as usize], &mut has[target as usize]);
                *s = match self.aggregate {
                    Aggregate::Sum | Aggregate::Average => *s + w,
                    Aggregate::Min if *h => s.min(w),
                    Aggregate::Max if *h => s.max(w),
                    Aggregate::Min | Aggregate::Max => w,
                };
                *h = true;
            }
        }
    }

    /// A regressor's output for one row, as onnxruntime finishes it: with
    /// one target only PROBIT applies; with several, every transform.
    fn finish_regression(&self, scores: &mut [f64], has: &[bool]) {
        let trees = self.roots.len() as f64;
        if self.targets == 1 {
            let origin = if self.base_values.len() == 1 { self.base_values[0] } else { 0.0 };
            let s = match self.aggregate {
                Aggregate::Average => scores[0] / trees,
                _ if has[0] => scores[0],
                _ => 0.0,
            };
            scores[0] = s + origin;
            if self.post == PostTransform::Probit {
                scores[0] = probit(scores[0]);
            }
            return;
        }
        let use_base = self.base_values.len() == self.targets;
        for (k, s) in scores.iter_mut().enumerate() {
            let v = match self.aggregate {
                Aggregate::Average => *s / trees,
                _ if has[k] => *s,
                _ => 0.0,
            };
            *s = v + if use_base { self.base_values[k] } else { 0.0 };
        }
        self.post.apply(scores);
    }

    fn check_width(&self, width: usize) -> TractResult<()> {
        if self.max_feature >= width {
            bail!(
                "a tree reads feature {} but the input has {width} feature(s) per row",
                self.max_feature
            );
        }
        Ok(())
    }
}

/// A tree ensemble laid out for speed: each tree's nodes in depth-first
/// order, so that a branch's true child is the next node and only the
/// false child is stored; one comparison for all nodes, chosen once per
/// call rather than per node; thresholds in `f32` when the input is `f32`
/// and every threshold is one (the same comparisons as in `f64`, half the
/// memory).
#[derive(Debug)]
struct Packed {
    f64: Layout<f64>,
    /// The same in `f32`, when every threshold is exactly an `f32`.
    f32: Option<Layout<f32>>,
    roots: Vec<u32>,
    /// The depth of each tree: a walk of that many steps from the root
    /// ends on a leaf, and stays there (see [`PackedNode`]).
    depths: Vec<u32>,
    /// For each packed node that is a leaf: its index in `Ensemble::nodes`.
    leaves: Vec<u32>,
    /// For each packed node that is a leaf with one weight: that weight.
    weights: Vec<f64>,
    mode: Mode,
    /// Some node sends a missing (NaN) feature to its true child.
    missing: bool,
    /// Every leaf has one weight, for target 0 (a single-target regressor,
    /// a binary classifier).
    single: bool,
    /// The trees as complete binary trees, when they are shallow.
    perfect64: Option<Perfect<f64>>,
    perfect32: Option<Perfect<f32>>,
}

/// Shallow trees (gradient boosting's) as complete binary trees of one
/// depth: node `i`'s children are `2i + 1` (the comparison holds) and
/// `2i + 2`, so a node is its threshold and feature, 8 or 12 bytes, and a
/// step is arithmetic. A leaf above the full depth stands for all the
/// slots below it: the nodes between never hold (NaN thresholds), and
/// every slot they lead to has its weight.
#[derive(Debug)]
struct Perfect<T> {
    depth: u32,
    /// `2^depth − 1` branches per tree.
    nodes: Vec<(T, u32)>,
    /// `2^depth` leaf weights per tree.
    weights: Vec<f64>,
}

/// The deepest tree packed as a complete binary tree (2^10 leaves a tree).
const PERFECT_DEPTH: u32 = 10;

impl<T: Real> Perfect<T> {
    fn new(p: &Packed, nodes: &[PackedNode<T>]) -> Option<Perfect<T>> {
        let depth = p.depths.iter().copied().max().unwrap_or(0);
        if depth > PERFECT_DEPTH || !p.single {
            return None;
        }
        let branches = (1usize << depth) - 1;
        let slots = 1usize << depth;
        let nan = nodes.iter().find(|n| n.threshold.is_nan()).map(|n| n.threshold)?;
        let mut out = Perfect {
            depth,
            nodes: vec![(nan, 0); branches * p.roots.len()],
            weights: vec![0.0; slots * p.roots.len()],
        };
        for (t, &root) in p.roots.iter().enumerate() {
            // (packed node, position in the complete tree, its level)
            let mut stack = vec![(root as usize, 0usize, 0u32)];
            while let Some((at, pos, level)) = stack.pop() {
                let n = &nodes[at];
                let leaf = n.next as usize == at;
                if leaf {
                    // Every slot under `pos` is this leaf.
                    let first = ((pos + 1) << (depth - level)) - 1 - branches;
                    let count = 1usize << (depth - level);
                    out.weights[t * slots + first..t * slots + first + count].fill(p.weights[at]);
                } else {
                    out.nodes[t * branches + pos] = (n.threshold, n.feature);
                    stack.push((at + 1, 2 * pos + 1, level + 1));
                    stack.push((n.next as usize, 2 * pos + 2, level + 1));
                }
            }
        }
        Some(out)
    }
}

/// A packed node. A leaf is a node whose comparison never holds (its
/// threshold is NaN) and whose false child is itself, so that a walk can
/// take a fixed number of steps without a branch on where it is: the walks
/// of several rows then run side by side.
#[derive(Debug, Clone, Copy)]
struct PackedNode<T> {
    /// The threshold; NaN for a leaf.
    threshold: T,
    /// The feature (with [`MISSING_YES`]); 0 for a leaf.
    feature: u32,
    /// A branch's false child; a leaf itself.
    next: u32,
}

#[derive(Debug)]
struct Layout<T> {
    nodes: Vec<PackedNode<T>>,
}

const MISSING_YES: u32 = 1 << 31;

/// What a threshold and a feature value can be.
trait Real: Copy + PartialOrd + std::fmt::Debug {
    fn is_nan(self) -> bool;
}

impl Real for f32 {
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
}

impl Real for f64 {
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
}

/// A comparison, inlined into the walk that uses it.
trait Compare {
    fn holds<T: Real>(v: T, threshold: T) -> bool;
}

macro_rules! compare {
    ($($name:ident: $op:tt),*) => {$(
        struct $name;
        impl Compare for $name {
            #[inline(always)]
            fn holds<T: Real>(v: T, threshold: T) -> bool {
                v $op threshold
            }
        }
    )*};
}
compare!(Leq: <=, Lt: <, Gte: >=, Gt: >, Eq: ==);

/// Calls `$f::<Compare, MISSING, $t…>($arg…)` with the comparison and the
/// missing-value handling of the packed trees.
macro_rules! with_compare {
    ($packed:expr, $f:ident, [$($t:ty),*], ($($arg:expr),*)) => {
        match ($packed.mode, $packed.missing) {
            (Mode::Leq, false) => $f::<Leq, false, $($t),*>($($arg),*),
            (Mode::Leq, true) => $f::<Leq, true, $($t),*>($($arg),*),
            (Mode::Lt, false) => $f::<Lt, false, $($t),*>($($arg),*),
            (Mode::Lt, true) => $f::<Lt, true, $($t),*>($($arg),*),
            (Mode::Gte, false) => $f::<Gte, false, $($t),*>($($arg),*),
            (Mode::Gte, true) => $f::<Gte, true, $($t),*>($($arg),*),
            (Mode::Gt, false) => $f::<Gt, false, $($t),*>($($arg),*),
            (Mode::Gt, true) => $f::<Gt, true, $($t),*>($($arg),*),
            (_, false) => $f::<Eq, false, $($t),*>($($arg),*),
            (_, true) => $f::<Eq, true, $($t),*>($($arg),*),
        }
    };
}

impl Packed {
    /// Packs `e`'s trees, or `None` when their branches compare in more
    /// than one way (or by set membership or inequality), or a tree shares
    /// subtrees.
    fn new(e: &Ensemble) -> Option<Packed> {
        let mut modes = e.nodes.iter().map(|n| n.mode).filter(|m| *m != Mode::Leaf);
        let mode = modes.next().unwrap_or(Mode::Leq);
        // NaN != t holds: a leaf could not hold still under BRANCH_NEQ.
        if matches!(mode, Mode::Member | Mode::Neq) || modes.any(|m| m != mode) {
            return None;
        }
        if e.max_feature >= MISSING_YES as usize {
            return None;
        }
        let missing = e.nodes.iter().any(|n| n.missing_yes && n.mode != Mode::Leaf);
        let mut nodes: Vec<PackedNode<f64>> = Vec::with_capacity(e.nodes.len());
        let (mut leaves, mut weights) = (Vec::new(), Vec::new());
        let mut roots = Vec::with_capacity(e.roots.len());
        let mut depths = Vec::with_capacity(e.roots.len());
        for &root in &e.roots {
            roots.push(nodes.len() as u32);
            let mut depth = 0;
            // (original node, its depth, where its packed parent wants its index)
            let mut stack: Vec<(u32, u32, Option<usize>)> = vec![(root, 0, None)];
            while let Some((at, d, patch)) = stack.pop() {
                if nodes.len() > 2 * e.nodes.len() {
                    return None; // shared subtrees: keep the general walk
                }
                let here = nodes.len();
                if let Some(parent) = patch {
                    nodes[parent].next = here as u32;
                }
                let n = &e.nodes[at as usize];
                leaves.push(at);
                if n.mode == Mode::Leaf {
                    depth = depth.max(d);
                    weights.push(if n.yes == 1 {
                        e.weights[n.feature as usize].1
                    } else {
                        f64::NAN
                    });
                    nodes.push(PackedNode { threshold: f64::NAN, feature: 0, next: here as u32 });
                } else {
                    weights.push(0.0);
                    let flag = if n.missing_yes { MISSING_YES } else { 0 };
                    nodes.push(PackedNode {
                        threshold: n.threshold,
                        feature: n.feature | flag,
                        next: 0,
                    });
                    // The true child comes next: pushed last, popped first.
                    stack.push((n.no, d + 1, Some(here)));
                    stack.push((n.yes, d + 1, None));
                }
            }
            depths.push(depth);
        }
        let single = e
            .nodes
            .iter()
            .filter(|n| n.mode == Mode::Leaf)
            .all(|n| n.yes == 1 && e.weights[n.feature as usize].0 == 0);
        let exact_f32 = nodes
            .iter()
            .all(|n| n.threshold.is_nan() || f64::from(n.threshold as f32) == n.threshold);
        let f32 = exact_f32.then(|| Layout {
            nodes: nodes
                .iter()
                .map(|n| PackedNode {
                    threshold: n.threshold as f32,
                    feature: n.feature,
                    next: n.next,
                })
                .collect(),
        });
        let mut packed = Packed {
            f64: Layout { nodes },
            f32,
            roots,
            depths,
            leaves,
            weights,
            mode,
            missing,
            single,
            perfect64: None,
            perfect32: None,
        };
        packed.perfect64 = Perfect::new(&packed, &packed.f64.nodes);
        packed.perfect32 = packed.f32.as_ref().and_then(|l| Perfect::new(&packed, &l.nodes));
        Some(packed)
    }

    /// The leaf (its index in `Ensemble::nodes`) `x` reaches in tree `t`.
    fn leaf(&self, t: usize, x: &[f64]) -> usize {
        fn go<C: Compare, const MISSING: bool>(p: &Packed, t: usize, x: &[f64]) -> usize {
            p.leaves[walk::<C, MISSING, f64>(&p.f64.nodes, p.roots[t], p.depths[t], x)] as usize
        }
        with_compare!(self, go, [], (self, t, x))
    }
}

/// Walks a row down one tree, `depth` steps from `root`, to its leaf. No
/// branch depends on the data: the next node is selected, not jumped to.
#[inline(always)]
fn walk<C: Compare, const MISSING: bool, T: Real>(
    nodes: &[PackedNode<T>],
    root: u32,
    depth: u32,
    row: &[T],
) -> usize {
    let mut at = root as usize;
    for _ in 0..depth {
        let n = &nodes[at];
        let v = row[(n.feature & !MISSING_YES) as usize];
        let mut yes = C::holds(v, n.threshold);
        if MISSING {
            yes |= (n.feature & MISSING_YES != 0) & v.is_nan();
        }
        at = if yes { at + 1 } else { n.next as usize };
    }
    at
}

/// Adds one weight per leaf over every tree to `out`, for rows of `width`
/// features, a row through every tree before the next row: the walks down
/// different trees do not depend on each other, so the processor overlaps
/// them (measured natively: 3× faster than walking a block of rows down
/// one tree at a time).
fn sum_single<C: Compare, const MISSING: bool, T: Real>(
    p: &Packed,
    nodes: &[PackedNode<T>],
    x: &[T],
    width: usize,
    out: &mut [f64],
) {
    for (sum, row) in out.iter_mut().zip(x.chunks_exact(width)) {
        for (&root, &depth) in p.roots.iter().zip(&p.depths) {
            *sum += p.weights[walk::<C, MISSING, T>(nodes, root, depth, row)];
        }
    }
}

/// [`sum_single`] on complete binary trees.
fn sum_perfect<C: Compare, const MISSING: bool, T: Real>(
    p: &Perfect<T>,
    x: &[T],
    width: usize,
    out: &mut [f64],
) {
    let branches = (1usize << p.depth) - 1;
    let slots = 1usize << p.depth;
    let trees = p.weights.len() / slots.max(1);
    for (sum, row) in out.iter_mut().zip(x.chunks_exact(width)) {
        for t in 0..trees {
            let nodes = &p.nodes[t * branches..(t + 1) * branches];
            let mut i = 0usize;
            for _ in 0..p.depth {
                let (threshold, feature) = nodes[i];
                let v = row[(feature & !MISSING_YES) as usize];
                let mut yes = C::holds(v, threshold);
                if MISSING {
                    yes |= (feature & MISSING_YES != 0) & v.is_nan();
                }
                i = 2 * i + 2 - usize::from(yes);
            }
            *sum += p.weights[t * slots + i - branches];
        }
    }
}

/// One node of the attribute lists, before the trees are linked.
struct RawNode {
    tree: i64,
    id: i64,
    feature: i64,
    mode: Mode,
    threshold: f64,
    yes: i64,
    no: i64,
    missing_yes: bool,
}

/// One leaf weight of the attribute lists.
struct RawWeight {
    tree: i64,
    node: i64,
    target: i64,
    weight: f64,
}

/// Links the trees of opsets 1 and 3: node ids are per tree, children are
/// node ids, weights name their leaf by (tree, node).
fn link(
    raw: Vec<RawNode>,
    mut weights: Vec<RawWeight>,
    targets: usize,
    aggregate: Aggregate,
    base_values: Vec<f64>,
    post: PostTransform,
) -> TractResult<Ensemble> {
    if raw.is_empty() {
        bail!("the ensemble has no nodes");
    }
    let mut index: HashMap<(i64, i64), u32> = HashMap::with_capacity(raw.len());
    let mut roots = Vec::new();
    let mut seen_trees = HashMap::new();
    for (i, n) in raw.iter().enumerate() {
        if index.insert((n.tree, n.id), i as u32).is_some() {
            bail!("node {} of tree {} is listed twice", n.id, n.tree);
        }
        // A tree's root is its first node listed, as in onnxruntime.
        if seen_trees.insert(n.tree, ()).is_none() {
            roots.push(i as u32);
        }
    }
    let child = |n: &RawNode, id: i64, which: &str| -> TractResult<u32> {
        match index.get(&(n.tree, id)) {
            Some(&i) if (n.tree, id) != (n.tree, n.id) => Ok(i),
            Some(_) => bail!("node {} of tree {} is its own {which} child", n.id, n.tree),
            None => bail!(
                "node {} of tree {} has {which} child {id}, which is not in the tree",
                n.id,
                n.tree
            ),
        }
    };
    let mut nodes = Vec::with_capacity(raw.len());
    let mut max_feature = 0usize;
    for n in &raw {
        let leaf = n.mode == Mode::Leaf;
        let feature = if leaf {
            0
        } else {
            let f = u32::try_from(n.feature).map_err(|_| {
                format_err!("node {} of tree {} reads feature {}", n.id, n.tree, n.feature)
            })?;
            max_feature = max_feature.max(f as usize);
            f
        };
        nodes.push(Node {
            threshold: n.threshold,
            feature,
            yes: if leaf { 0 } else { child(n, n.yes, "true")? },
            no: if leaf { 0 } else { child(n, n.no, "false")? },
            mode: n.mode,
            missing_yes: n.missing_yes,
        });
    }
    // Weights grouped by leaf, in attribute order within a leaf.
    weights.sort_by_key(|w| (w.tree, w.node));
    let mut runs = Vec::with_capacity(weights.len());
    for w in &weights {
        let Some(&i) = index.get(&(w.tree, w.node)) else {
            bail!("a weight names node {} of tree {}, which does not exist", w.node, w.tree);
        };
        let target = usize::try_from(w.target).ok().filter(|&t| t < targets).ok_or_else(|| {
            format_err!(
                "a weight of node {} of tree {} is for target {} (of {targets})",
                w.node,
                w.tree,
                w.target
            )
        })?;
        let node = &mut nodes[i as usize];
        // Weights on a branch node come from old converters: onnxruntime
        // ignores them, and so do we.
        if node.mode != Mode::Leaf {
            continue;
        }
        if node.yes == 0 {
            node.feature = runs.len() as u32;
        } else if node.feature as usize + node.yes as usize != runs.len() {
            bail!("the weights of node {} of tree {} are not together", w.node, w.tree);
        }
        node.yes += 1;
        runs.push((target as u32, w.weight));
    }
    for (n, node) in raw.iter().zip(&nodes) {
        if node.mode == Mode::Leaf && node.yes == 0 {
            bail!("leaf {} of tree {} has no weight", n.id, n.tree);
        }
    }
    let ensemble = Ensemble {
        nodes,
        roots,
        weights: runs,
        members: Vec::new(),
        targets,
        aggregate,
        base_values,
        post,
        max_feature,
        packed: None,
    };
    check_acyclic(&ensemble)?;
    Ok(ensemble.pack())
}

/// Refuses trees with a cycle (they would never reach a leaf): every walk
/// from a root must end within as many steps as there are nodes.
fn check_acyclic(e: &Ensemble) -> TractResult<()> {
    let mut depth = vec![0u32; e.nodes.len()];
    let limit = e.nodes.len() as u32;
    for (t, &root) in e.roots.iter().enumerate() {
        let mut stack = vec![(root, 1u32)];
        while let Some((i, d)) = stack.pop() {
            if d > limit {
                bail!("tree {t} has a cycle: following its branches never reaches a leaf");
            }
            if depth[i as usize] >= d {
                continue;
            }
            depth[i as usize] = d;
            let n = &e.nodes[i as usize];
            if n.mode != Mode::Leaf {
                stack.push((n.yes, d + 1));
                stack.push((n.no, d + 1));
            }
        }
    }
    Ok(())
}

fn mode(s: &str) -> TractResult<Mode> {
    Ok(match s {
        "BRANCH_LEQ" => Mode::Leq,
        "BRANCH_LT" => Mode::Lt,
        "BRANCH_GTE" => Mode::Gte,
        "BRANCH_GT" => Mode::Gt,
        "BRANCH_EQ" => Mode::Eq,
        "BRANCH_NEQ" => Mode::Neq,
        "LEAF" => Mode::Leaf,
        other => bail!(
            "node mode `{other}` is not one of BRANCH_LEQ, BRANCH_LT, BRANCH_GTE, BRANCH_GT, BRANCH_EQ, BRANCH_NEQ, LEAF"
        ),
    })
}

/// The nodes and weights of opsets 1 and 3; `leaf` is `target` or `class`.
fn read_v1(a: &Attrs<'_, '_>, leaf: &str) -> TractResult<(Vec<RawNode>, Vec<RawWeight>)> {
    let ids = a.required_ints("nodes_nodeids")?;
    let n = ids.len();
    let trees = a.ints("nodes_treeids");
    let features = a.ints("nodes_featureids");
    let yes = a.ints("nodes_truenodeids");
    let no = a.ints("nodes_falsenodeids");
    let modes = a.strings("nodes_modes")?;
    let values = a.reals("nodes_values")?;
    let missing = a.ints("nodes_missing_value_tracks_true");
    for (name, len) in [
        ("nodes_treeids", trees.len()),
        ("nodes_featureids", features.len()),
        ("nodes_truenodeids", yes.len()),
        ("nodes_falsenodeids", no.len()),
        ("nodes_modes", modes.len()),
        ("nodes_values", values.len()),
    ] {
        if len != n {
            bail!("attribute `{name}` has {len} values; expected {n} (one per node)");
        }
    }
    if !missing.is_empty() {
        expect_len("nodes_missing_value_tracks_true", missing, n, "one per node")?;
    }
    let mut raw = Vec::with_capacity(n);
    for i in 0..n {
        raw.push(RawNode {
            tree: trees[i],
            id: ids[i],
            feature: features[i],
            mode: mode(&modes[i])?,
            threshold: values[i],
            yes: yes[i],
            no: no[i],
            missing_yes: missing.get(i).is_some_and(|&m| m != 0),
        });
    }
    let wname = |s: &str| format!("{leaf}_{s}");
    let w_ids = a.ints(&wname("ids"));
    let w_nodes = a.ints(&wname("nodeids"));
    let w_trees = a.ints(&wname("treeids"));
    let w_values = a.reals(&wname("weights"))?;
    let m = w_ids.len();
    for (name, len) in [
        (wname("nodeids"), w_nodes.len()),
        (wname("treeids"), w_trees.len()),
        (wname("weights"), w_values.len()),
    ] {
        if len != m {
            bail!("attribute `{name}` has {len} values; expected {m} (one per leaf weight)");
        }
    }
    let weights = (0..m)
        .map(|i| RawWeight {
            tree: w_trees[i],
            node: w_nodes[i],
            target: w_ids[i],
            weight: w_values[i],
        })
        .collect();
    Ok((raw, weights))
}

fn aggregate_v1(a: &Attrs<'_, '_>) -> TractResult<Aggregate> {
    a.choice(
        "aggregate_function",
        Aggregate::Sum,
        &[
            ("SUM", Aggregate::Sum),
            ("AVERAGE", Aggregate::Average),
            ("MIN", Aggregate::Min),
            ("MAX", Aggregate::Max),
        ],
    )
}

/// `TreeEnsembleRegressor`: Y `f32` [rows, n_targets].
pub(crate) fn regressor(ctx: &ParsingContext, node: &NodeProto) -> TractResult<Arc<dyn Kernel>> {
    let a = Attrs::new(ctx, node);
    let targets = a.int("n_targets").unwrap_or(1);
    let targets = usize::try_from(targets)
        .ok()
        .filter(|&t| t > 0)
        .ok_or_else(|| format_err!("attribute `n_targets` is {targets}"))?;
    let (raw, weights) = read_v1(&a, "target")?;
    let ensemble = link(
        raw,
        weights,
        targets,
        aggregate_v1(&a)?,
        a.reals("base_values")?,
        PostTransform::read(&a)?,
    )?;
    Ok(Arc::new(Regressor {
        ensemble,
        output: Some(DatumType::F32),
        name: "TreeEnsembleRegressor",
    }))
}

#[derive(Debug)]
struct Regressor {
    ensemble: Ensemble,
    /// `f32` (opsets 1 and 3), or `None`: the input's type (opset 5).
    output: Option<DatumType>,
    name: &'static str,
}

impl Kernel for Regressor {
    fn name(&self) -> &'static str {
        self.name
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        expect_type(self.name, inputs[0], NUMERIC)?;
        let dt = self.output.unwrap_or(inputs[0].datum_type);
        Ok(tvec!(dt.fact(&[rows_of(inputs[0]), self.ensemble.targets.to_dim()])))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let e = &self.ensemble;
        let k = e.targets;
        let input = &inputs[0];
        match &e.packed {
            // The common case, tree by tree over blocks of rows.
            Some(p)
                if k == 1
                    && p.single
                    && matches!(e.aggregate, Aggregate::Sum | Aggregate::Average) =>
            {
                let (rows, width) = rows_and_width(input)?;
                e.check_width(width)?;
                let mut out = vec![0.0; rows];
                if width > 0 {
                    let f32_input = input.datum_type() == DatumType::F32;
                    let x32 = || input.try_as_plain_ram().and_then(|v| v.as_slice::<f32>());
                    match (&p.perfect32, &p.f32, &p.perfect64) {
                        (Some(perfect), _, _) if f32_input => {
                            with_compare!(p, sum_perfect, [f32], (perfect, x32()?, width, &mut out))
                        }
                        (None, Some(layout), _) if f32_input => {
                            with_compare!(
                                p,
                                sum_single,
                                [f32],
                                (p, &layout.nodes, x32()?, width, &mut out)
                            )
                        }
                        (_, _, Some(perfect)) => {
                            let x = super::to_f64(input)?;
                            with_compare!(p, sum_perfect, [f64], (perfect, &x, width, &mut out))
                        }
                        _ => {
                            let x = super::to_f64(input)?;
                            with_compare!(
                                p,
                                sum_single,
                                [f64],
                                (p, &p.f64.nodes, &x, width, &mut out)
                            )
                        }
                    }
                }
                let has = [!e.roots.is_empty()];
                for row in out.chunks_exact_mut(1) {
                    e.finish_regression(row, &has);
                }
                let dt = self.output.unwrap_or(input.datum_type());
                return Ok(tvec!(from_f64(dt, &[rows, k], &out)?.into_tvalue()));
            }
            _ => {}
        }
        let (x, rows, width) = as_f64_rows(input)?;
        e.check_width(width)?;
        let mut out = vec![0.0; rows * k];
        let mut has = vec![false; k];
        for (r, row) in out.chunks_exact_mut(k).enumerate() {
            e.scores(&x[r * width..(r + 1) * width], row, &mut has);
            e.finish_regression(row, &has);
        }
        let dt = self.output.unwrap_or(input.datum_type());
        Ok(tvec!(from_f64(dt, &[rows, k], &out)?.into_tvalue()))
    }
}

/// `TreeEnsembleClassifier`: Y labels [rows], Z `f32` scores [rows, classes].
pub(crate) fn classifier(ctx: &ParsingContext, node: &NodeProto) -> TractResult<Arc<dyn Kernel>> {
    let a = Attrs::new(ctx, node);
    let labels = Labels::read(&a, "classlabels_int64s", "classlabels_strings")?;
    if labels.len() < 2 {
        bail!("the classifier has {} class label(s); it needs at least two", labels.len());
    }
    let (raw, weights) = read_v1(&a, "class")?;
    let classes_weighted: std::collections::BTreeSet<i64> =
        weights.iter().map(|w| w.target).collect();
    let all_positive = weights.iter().all(|w| w.weight >= 0.0);
    let ensemble = link(
        raw,
        weights,
        labels.len(),
        Aggregate::Sum,
        a.reals("base_values")?,
        PostTransform::read(&a)?,
    )?;
    Ok(Arc::new(Classifier {
        binary: labels.len() == 2 && classes_weighted.len() == 1,
        all_positive,
        labels,
        ensemble,
    }))
}

#[derive(Debug)]
struct Classifier {
    ensemble: Ensemble,
    labels: Labels,
    /// Two classes and the leaves weigh only one of them: the score is
    /// that of the positive class.
    binary: bool,
    /// No leaf weight is negative (the score is a probability).
    all_positive: bool,
}

impl Classifier {
    /// The class and the written scores of one row, from its raw scores, as
    /// onnxruntime decides them (binary layouts included).
    fn finish(&self, scores: &mut [f64], has: &mut [bool], out: &mut [f64]) -> usize {
        let base = &self.ensemble.base_values;
        let post = self.ensemble.post;
        if scores.len() > 2 {
            for (k, &b) in base.iter().enumerate().take(scores.len()) {
                scores[k] = if has[k] { scores[k] + b } else { b };
                has[k] = true;
            }
            let mut best: Option<usize> = None;
            for k in 0..scores.len() {
                if has[k] && best.is_none_or(|b| scores[k] > scores[b]) {
                    best = Some(k);
                }
            }
            for (o, (&s, &h)) in out.iter_mut().zip(scores.iter().zip(has.iter())) {
                *o = if h { s } else { 0.0 };
            }
            post.apply(out);
            return best.unwrap_or(0);
        }
        // Two classes. A class no leaf weighed scores 0 when written.
        let mut len = 2;
        let mut second = None; // how a single score becomes two
        match base.len() {
            // onnxruntime's reading of two base values with both classes
            // weighed: the second score is the first plus its base value.
            2 if has[1] => {
                scores[1] = base[1] + scores[0];
                scores[0] = -scores[1];
                has[1] = true;
            }
            2 => {
                scores[1] += base[1];
                scores[0] += base[0];
            }
            1 => {
                scores[0] += base[0];
                if !has[1] {
                    len = 1;
                }
            }
            0 => {
                second = Some(Second::Negate);
                if !has[1] {
                    len = 1;
                }
            }
            _ => {}
        }
        let positive = if len == 2 && has[1] {
            scores[1]
        } else if has[0] {
            scores[0]
        } else {
            0.0
        };
        let class = if self.binary {
            let (wins, how) = if self.all_positive {
                (positive > 0.5, Second::Complement)
            } else {
                (positive > 0.0, Second::Negate)
            };
            second = Some(how);
            usize::from(wins)
        } else {
            usize::from(positive > 0.0)
        };
        if len == 2 {
            for k in 0..2 {
                out[k] = if has[k] { scores[k] } else { 0.0 };
            }
            post.apply(&mut out[..2]);
        } else if post == PostTransform::Probit {
            out[0] = probit(scores[0]);
            out[1] = 0.0;
        } else {
            let s = scores[0];
            (out[0], out[1]) = match second {
                Some(Second::Complement) => (1.0 - s, s),
                Some(Second::Negate) if post == PostTransform::Logistic => {
                    (logistic(-s), logistic(s))
                }
                Some(Second::Negate) => (-s, s),
                None => (s, 0.0),
            };
        }
        class
    }
}

/// How a binary classifier's single score becomes two.
#[derive(Debug, Clone, Copy)]
enum Second {
    /// [1 − p, p]: the score is a probability.
    Complement,
    /// [−s, s] (or their logistics).
    Negate,
}

impl Kernel for Classifier {
    fn name(&self) -> &'static str {
        "TreeEnsembleClassifier"
    }

    fn outputs(&self) -> usize {
        2
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.labels.facts(self.name(), inputs[0], self.labels.len())
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (x, rows, width) = as_f64_rows(&inputs[0])?;
        let e = &self.ensemble;
        e.check_width(width)?;
        let k = self.labels.len();
        let mut scores = vec![0.0; k];
        let mut has = vec![false; k];
        let mut out = vec![0.0; rows * k];
        let mut classes = Vec::with_capacity(rows);
        for (r, row_out) in out.chunks_exact_mut(k).enumerate() {
            e.scores(&x[r * width..(r + 1) * width], &mut scores, &mut has);
            classes.push(self.finish(&mut scores, &mut has, row_out));
        }
        self.labels.outputs(&classes, &out, k)
    }
}

/// `TreeEnsemble` (opset 5): Y [rows, n_targets], of the input's type.
pub(crate) fn ensemble_v5(ctx: &ParsingContext, node: &NodeProto) -> TractResult<Arc<dyn Kernel>> {
    let a = Attrs::new(ctx, node);
    let features = a.required_ints("nodes_featureids")?;
    let n = features.len();
    let splits = a.tensor("nodes_splits")?.context("attribute `nodes_splits` is missing")?;
    let splits = super::to_f64(&splits)?;
    let modes = a.tensor("nodes_modes")?.context("attribute `nodes_modes` is missing")?;
    let modes: Vec<u8> = modes.cast_to::<u8>()?.try_as_plain_ram()?.as_slice::<u8>()?.to_vec();
    let yes = a.ints("nodes_truenodeids");
    let no = a.ints("nodes_falsenodeids");
    let yes_leaf = a.ints("nodes_trueleafs");
    let no_leaf = a.ints("nodes_falseleafs");
    let missing = a.ints("nodes_missing_value_tracks_true");
    let roots = a.required_ints("tree_roots")?;
    let leaf_targets = a.required_ints("leaf_targetids")?;
    let leaf_weights = a.tensor("leaf_weights")?.context("attribute `leaf_weights` is missing")?;
    let leaf_weights = super::to_f64(&leaf_weights)?;
    for (name, len) in [
        ("nodes_splits", splits.len()),
        ("nodes_modes", modes.len()),
        ("nodes_truenodeids", yes.len()),
        ("nodes_falsenodeids", no.len()),
        ("nodes_trueleafs", yes_leaf.len()),
        ("nodes_falseleafs", no_leaf.len()),
    ] {
        if len != n {
            bail!("attribute `{name}` has {len} values; expected {n} (one per node)");
        }
    }
    if !missing.is_empty() {
        expect_len("nodes_missing_value_tracks_true", missing, n, "one per node")?;
    }
    expect_len("leaf_weights", &leaf_weights, leaf_targets.len(), "one per leaf_targetids")?;
    let targets = a.int("n_targets").context("attribute `n_targets` is missing")?;
    let targets = usize::try_from(targets)
        .ok()
        .filter(|&t| t > 0)
        .ok_or_else(|| format_err!("attribute `n_targets` is {targets}"))?;
    let aggregate = match a.int("aggregate_function").unwrap_or(1) {
        0 => Aggregate::Average,
        1 => Aggregate::Sum,
        2 => Aggregate::Min,
        3 => Aggregate::Max,
        other => bail!("attribute `aggregate_function` is {other}; expected 0 to 3"),
    };
    let post = PostTransform::from_code(a.int("post_transform").unwrap_or(0))?;
    // Set-membership values: one NaN-separated run per BRANCH_MEMBER node.
    let membership = match a.tensor("membership_values")? {
        Some(t) => super::to_f64(&t)?,
        None => Vec::new(),
    };
    let mut member_runs = membership.split(|v| v.is_nan());
    // Nodes first, then one leaf node per leaf weight.
    let leaf_at = |j: i64| -> TractResult<u32> {
        usize::try_from(j)
            .ok()
            .filter(|&j| j < leaf_targets.len())
            .map(|j| (n + j) as u32)
            .ok_or_else(|| format_err!("a node points at leaf {j}, of {}", leaf_targets.len()))
    };
    let node_at = |j: i64| -> TractResult<u32> {
        usize::try_from(j)
            .ok()
            .filter(|&j| j < n)
            .map(|j| j as u32)
            .ok_or_else(|| format_err!("a node points at node {j}, of {n}"))
    };
    let mut nodes = Vec::with_capacity(n + leaf_targets.len());
    let mut members = Vec::new();
    let mut max_feature = 0usize;
    for i in 0..n {
        let mode = match modes[i] {
            0 => Mode::Leq,
            1 => Mode::Lt,
            2 => Mode::Gte,
            3 => Mode::Gt,
            4 => Mode::Eq,
            5 => Mode::Neq,
            6 => Mode::Member,
            other => bail!("node {i} has mode {other}; expected 0 to 6"),
        };
        if mode == Mode::Member {
            let mut set: Vec<f64> = member_runs
                .next()
                .context("`membership_values` has fewer sets than BRANCH_MEMBER nodes")?
                .iter()
                .map(|v| v + 0.0)
                .collect();
            set.sort_by(f64::total_cmp);
            members.push((i as u32, set));
        }
        let feature = u32::try_from(features[i])
            .map_err(|_| format_err!("node {i} reads feature {}", features[i]))?;
        max_feature = max_feature.max(feature as usize);
        nodes.push(Node {
            threshold: splits[i],
            feature,
            yes: if yes_leaf[i] != 0 { leaf_at(yes[i])? } else { node_at(yes[i])? },
            no: if no_leaf[i] != 0 { leaf_at(no[i])? } else { node_at(no[i])? },
            mode,
            missing_yes: missing.get(i).is_some_and(|&m| m != 0),
        });
    }
    let mut weights = Vec::with_capacity(leaf_targets.len());
    for (j, (&t, &w)) in leaf_targets.iter().zip(&leaf_weights).enumerate() {
        let target = usize::try_from(t)
            .ok()
            .filter(|&t| t < targets)
            .ok_or_else(|| format_err!("leaf {j} is for target {t} (of {targets})"))?;
        nodes.push(Node {
            threshold: 0.0,
            feature: j as u32,
            yes: 1,
            no: 0,
            mode: Mode::Leaf,
            missing_yes: false,
        });
        weights.push((target as u32, w));
    }
    let roots = roots.iter().map(|&r| node_at(r)).collect::<TractResult<Vec<u32>>>()?;
    let ensemble = Ensemble {
        nodes,
        roots,
        weights,
        members,
        targets,
        aggregate,
        base_values: Vec::new(),
        post,
        max_feature,
        packed: None,
    };
    check_acyclic(&ensemble)?;
    Ok(Arc::new(Regressor { ensemble: ensemble.pack(), output: None, name: "TreeEnsemble" }))
}
