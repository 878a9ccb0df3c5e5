"""LightGBM ensembles scored over (left row, right row) pairs without building the pair matrix.

A routing round asks three LightGBM models about every (ticket, agent) pair and the two difficulty
models about every (ticket, reference agent) pair. Every split of a tree tests one feature, and every
feature is a property of one side: the ticket (topic, sentiment, reference difficulty, ...) or the
agent (history in the ticket's topic, declared skill, ...). As in QuickScorer (Lucchese et al., SIGIR
2015), the leaf a row reaches is the leftmost leaf that no *false* split rules out, and the splits can
be tested in any order. So each side's splits are tested once per row of that side, giving per (row,
tree) a bitmask of the leaves still possible; a pair's leaf is the lowest set bit of the AND of its
two rows' masks. Per pair and tree that is one AND and one look-up, where `Booster.predict` walks the
tree over a pair row that first had to be assembled.

The decision rules are LightGBM's own (missing values, zero-as-missing, categorical bitsets; see
`Tree::NumericalDecision` and `Tree::CategoricalDecision`) and the leaf values are summed in tree
order from 0.0 as LightGBM does, so raw scores equal `Booster.predict(raw_score=True)` exactly (tests
compare them bit for bit). The kernels are compiled with numba on first use (and cached on disk next to
this file, so later processes only load them); without numba, `ready()` is False and callers use
`Booster.predict`.
"""
from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

AVAILABLE = importlib.util.find_spec("numba") is not None
"""Whether numba is installed (it is imported, and the kernels compiled, on first use: see `ready`)."""

MAX_LEAVES = 64
"""Leaf masks are 64-bit words: a forest with a larger tree is left to `Booster.predict`."""
ZERO_THRESHOLD = float(np.float32(1e-35))
"""LightGBM's kZeroThreshold (a float literal widened to double)."""
_ALL = np.uint64(0xFFFF_FFFF_FFFF_FFFF)

_NUMERICAL, _CATEGORICAL = 0, 1


class Unsupported(ValueError):
    """A booster this module does not reproduce exactly (the caller falls back to `Booster.predict`)."""


@dataclass(frozen=True)
class _Side:
    """The splits that test one side's features, per tree (CSR over trees), laid out for the mask kernel."""

    ptr: np.ndarray  # int64 (n_trees + 1,)
    column: np.ndarray  # int64: the split's column in the side's matrix
    threshold: np.ndarray  # float64 (numerical splits)
    categorical: np.ndarray  # bool
    nan_left: np.ndarray  # bool: a numerical split sends nan left
    zero_left: np.ndarray  # bool: ... and 0 (or |x| <= 1e-35) left
    cat_start: np.ndarray  # int64
    cat_len: np.ndarray  # int64
    right_mask: np.ndarray  # uint64


@dataclass
class Forest:
    """Several boosters over the same features, flattened: trees in order, each model's trees contiguous."""

    feature_names: list[str]
    model_start: np.ndarray  # int64 (n_models + 1,): trees of model k are model_start[k]:model_start[k + 1]
    sigmoid: np.ndarray  # float64 (n_models,): sigmoid factor of a binary model, 0 for an identity output
    tree_start: np.ndarray  # int64 (n_trees + 1,): nodes of tree t are tree_start[t]:tree_start[t + 1]
    feature: np.ndarray  # int64 per node
    threshold: np.ndarray  # float64 per node (numerical splits)
    kind: np.ndarray  # int8 per node: 0 numerical, 1 categorical
    missing: np.ndarray  # int8 per node: 0 none, 1 zero, 2 nan
    default_left: np.ndarray  # bool per node
    cat_start: np.ndarray  # int64 per node: its bitset words in cat_bits
    cat_len: np.ndarray  # int64 per node
    cat_bits: np.ndarray  # uint32
    right_mask: np.ndarray  # uint64 per node: the leaves still possible when the split's test is false
    leaf_value: np.ndarray  # float64 (n_trees, max leaves), leaves numbered left to right
    _sides: dict[tuple[int, ...], _Side] = field(default_factory=dict, repr=False)

    @property
    def n_models(self) -> int:
        return len(self.model_start) - 1

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def n_trees(self) -> int:
        return len(self.tree_start) - 1

    @classmethod
    def from_boosters(cls, boosters: Sequence[object]) -> Forest:
        """Flatten LightGBM boosters (binary or regression objectives, one tree per iteration) trained on the same features.

        Read from the text model, where thresholds and leaf values are written in full precision (the JSON
        dump rounds infinite thresholds to 1e300).
        """
        names: list[str] | None = None
        model_start, sigmoid, tree_start = [0], [], [0]
        nodes: dict[str, list] = {k: [] for k in ("feature", "threshold", "kind", "missing", "default_left",
                                                  "cat_start", "cat_len", "right_mask")}
        cat_bits: list[int] = []
        leaves: list[list[float]] = []
        for booster in boosters:
            header, trees = _parse_model(booster.model_to_string())
            if names is None:
                names = header["feature_names"].split()
            elif header["feature_names"].split() != names:
                raise Unsupported("boosters over different features")
            if int(header.get("num_tree_per_iteration", "1")) != 1 or "average_output" in header:
                raise Unsupported("multiclass or averaged trees")
            objective = header.get("objective", "").split()
            if objective[:1] == ["binary"]:
                factor = [float(o.split(":", 1)[1]) for o in objective[1:] if o.startswith("sigmoid:")]
                sigmoid.append(factor[0] if factor else 1.0)
            elif objective[:1] == ["regression"]:
                sigmoid.append(0.0)
            else:
                raise Unsupported(f"objective {' '.join(objective)!r}")
            for tree in trees:
                leaves.append(_flatten_tree(tree, nodes, cat_bits))
                tree_start.append(len(nodes["feature"]))
            model_start.append(len(leaves))
        width = max((len(v) for v in leaves), default=1)
        leaf_value = np.zeros((len(leaves), width))
        for t, values in enumerate(leaves):
            leaf_value[t, :len(values)] = values
        return cls(
            feature_names=names or [], model_start=np.asarray(model_start, dtype=np.int64),
            sigmoid=np.asarray(sigmoid, dtype=float), tree_start=np.asarray(tree_start, dtype=np.int64),
            feature=np.asarray(nodes["feature"], dtype=np.int64), threshold=np.asarray(nodes["threshold"], dtype=float),
            kind=np.asarray(nodes["kind"], dtype=np.int8), missing=np.asarray(nodes["missing"], dtype=np.int8),
            default_left=np.asarray(nodes["default_left"], dtype=bool),
            cat_start=np.asarray(nodes["cat_start"], dtype=np.int64), cat_len=np.asarray(nodes["cat_len"], dtype=np.int64),
            cat_bits=np.asarray(cat_bits, dtype=np.uint32), right_mask=np.asarray(nodes["right_mask"], dtype=np.uint64),
            leaf_value=leaf_value,
        )

    def used_features(self) -> frozenset[int]:
        """The features some split tests."""
        cached = self.__dict__.get("_used")
        if cached is None:
            cached = self.__dict__["_used"] = frozenset(self.feature.tolist())
        return cached

    def _side(self, columns: tuple[int, ...]) -> _Side:
        cached = self._sides.get(columns)
        if cached is None:
            where = {f: j for j, f in enumerate(columns)}
            ptr, node, local = [0], [], []
            for t in range(self.n_trees):
                for n in range(self.tree_start[t], self.tree_start[t + 1]):
                    j = where.get(int(self.feature[n]))
                    if j is not None:
                        node.append(n)
                        local.append(j)
                ptr.append(len(node))
            n = np.asarray(node, dtype=np.int64)
            threshold = self.threshold[n]
            numerical = self.kind[n] == _NUMERICAL
            missing, default_left = self.missing[n], self.default_left[n]
            # where a numerical split sends nan (read as 0 unless missing is nan) and 0 (missing when "zero")
            nan_left = np.where(missing == 2, default_left, np.where(missing == 1, default_left, 0.0 <= threshold))
            zero_left = np.where(missing == 1, default_left, 0.0 <= threshold)
            cached = _Side(ptr=np.asarray(ptr, dtype=np.int64), column=np.asarray(local, dtype=np.int64),
                           threshold=np.where(numerical, threshold, 0.0), categorical=~numerical,
                           nan_left=nan_left & numerical, zero_left=zero_left & numerical,
                           cat_start=self.cat_start[n], cat_len=self.cat_len[n], right_mask=self.right_mask[n])
            self._sides[columns] = cached
        return cached

    def masks(self, X: np.ndarray, columns: Sequence[int]) -> np.ndarray:
        """(n_trees, n_rows) uint64: per row of one side, the leaves that side's splits leave possible.

        `X[:, j]` holds feature `columns[j]` (LightGBM's feature index) for every row of that side.
        """
        _require_kernels()
        side = self._side(tuple(int(c) for c in columns))
        XT = np.ascontiguousarray(np.asarray(X, dtype=np.float64).T)
        out = np.empty((self.n_trees, XT.shape[1]), dtype=np.uint64)
        _COMPILED["_side_masks"](XT, side.ptr, side.column, side.threshold, side.categorical, side.nan_left, side.zero_left,
                    side.cat_start, side.cat_len, self.cat_bits, side.right_mask, out)
        return out

    def predict(self, left: np.ndarray, left_row: np.ndarray, right: np.ndarray, right_row: np.ndarray,
                raw_score: bool = False) -> np.ndarray:
        """(n_models, n_pairs): what `Booster.predict` of each model gives for the pairs (left row, right row).

        `left` and `right` are `masks` of two sides that together test every split's feature (see `check_sides`).
        """
        _require_kernels()
        left_row, right_row = np.asarray(left_row, dtype=np.int64), np.asarray(right_row, dtype=np.int64)
        if left.shape[0] != self.n_trees or right.shape[0] != self.n_trees or len(left_row) != len(right_row):
            raise ValueError("masks of another forest, or pairs of unequal length")
        for rows, masks in ((left_row, left), (right_row, right)):
            if len(rows) and (rows.min() < 0 or rows.max() >= masks.shape[1]):
                raise IndexError("a pair's row is outside its side")
        out = np.empty((self.n_models, len(left_row)))
        _COMPILED["_pair_scores"](left, left_row, right, right_row, self.model_start, self.leaf_value, out)
        if not raw_score:
            _COMPILED["_sigmoid_rows"](out, self.sigmoid)
        return out

    def check_sides(self, *sides: Sequence[int]) -> None:
        """Refuse sides that overlap or leave a split's feature to nobody (a pair's leaf would be undefined)."""
        seen: list[int] = [int(c) for side in sides for c in side]
        if len(seen) != len(set(seen)):
            raise ValueError("a feature on two sides")
        missing = self.used_features() - set(seen)
        if missing:
            raise ValueError(f"features on no side: {sorted(self.feature_names[f] for f in missing)}")


def _parse_model(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The header's and each tree's key=value lines of a LightGBM text model."""
    blocks = text.split("\nTree=")
    header = _pairs(blocks[0])
    trees = []
    for block in blocks[1:]:
        body = block.split("\nend of trees", 1)[0]
        trees.append(_pairs(body.split("\n", 1)[1] if "\n" in body else ""))
    return header, trees


def _pairs(block: str) -> dict[str, str]:
    out = {}
    for line in block.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _flatten_tree(tree: dict[str, str], nodes: dict[str, list], cat_bits: list[int]) -> list[float]:
    """Append a tree's splits to `nodes`; return its leaf values numbered left to right (the mask bit order)."""
    n_leaves = int(tree["num_leaves"])
    if n_leaves > MAX_LEAVES:
        raise Unsupported(f"a tree with {n_leaves} leaves (at most {MAX_LEAVES})")
    if int(tree.get("is_linear", "0")):
        raise Unsupported("linear trees")
    leaf_value = [float(v) for v in tree["leaf_value"].split()]
    if n_leaves == 1:
        return leaf_value[:1]
    split = {k: tree[k].split() for k in ("split_feature", "threshold", "decision_type", "left_child", "right_child")}
    boundaries = [int(v) for v in tree.get("cat_boundaries", "").split()]
    thresholds = [int(v) for v in tree.get("cat_threshold", "").split()]
    order: list[float] = []

    def visit(node: int) -> int:
        if node < 0:
            order.append(leaf_value[~node])
            return 1 << (len(order) - 1)
        at = len(nodes["feature"])
        for key in nodes:
            nodes[key].append(0)
        decision = int(split["decision_type"][node])
        nodes["feature"][at] = int(split["split_feature"][node])
        nodes["missing"][at] = (decision >> 2) & 3
        nodes["default_left"][at] = bool(decision & 2)
        if decision & 1:
            cat = int(float(split["threshold"][node]))
            words = thresholds[boundaries[cat]:boundaries[cat + 1]]
            nodes["kind"][at], nodes["cat_start"][at], nodes["cat_len"][at] = _CATEGORICAL, len(cat_bits), len(words)
            cat_bits.extend(words)
        else:
            nodes["kind"][at], nodes["threshold"][at] = _NUMERICAL, float(split["threshold"][node])
        left = visit(int(split["left_child"][node]))
        right = visit(int(split["right_child"][node]))
        nodes["right_mask"][at] = int(_ALL) & ~left
        return left | right

    visit(0)
    return order


# ---------------------------------------------------------------- kernels (compiled by numba in `ready`)


def _side_masks(XT, ptr, column, threshold, categorical, nan_left, zero_left, cat_start, cat_len, cat_bits,  # noqa: ANN001, ANN202
                right_mask, out):
    # split by split over all rows of the side (vectorises); XT is (columns, rows), out (trees, rows)
    all_leaves = np.uint64(0xFFFFFFFFFFFFFFFF)
    one = np.uint32(1)
    n_rows = XT.shape[1]
    for t in range(out.shape[0]):
        m = out[t]
        for r in range(n_rows):
            m[r] = all_leaves
        for j in range(ptr[t], ptr[t + 1]):
            x = XT[column[j]]
            false_mask = right_mask[j]
            if categorical[j]:
                # |x| <= 1e-35 reads as 0; a cast of nan or of a value beyond int32 is INT_MIN: right
                for r in range(n_rows):
                    v = x[r]
                    left = False
                    if v > -1.0 and v < 2147483648.0:
                        c = np.int64(v)
                        if c // 32 < cat_len[j]:
                            left = (cat_bits[cat_start[j] + c // 32] >> np.uint32(c % 32)) & one == one
                    if not left:
                        m[r] &= false_mask
            else:
                thr, when_nan, when_zero = threshold[j], nan_left[j], zero_left[j]
                for r in range(n_rows):
                    v = x[r]
                    left = (v <= thr) if v == v else when_nan
                    left = when_zero if (v >= -ZERO_THRESHOLD and v <= ZERO_THRESHOLD) else left
                    m[r] &= all_leaves if left else false_mask


def _pair_scores(left, left_row, right, right_row, model_start, leaf_value, out):  # noqa: ANN001, ANN202
    # per pair, trees summed in order from 0.0 as LightGBM does; out is (models, pairs). 8 trees per pass over
    # the pairs (their leaf rows stay in cache), 4 pairs at a time (4 independent sums keep the adder busy)
    n = len(left_row)
    for k in range(len(model_start) - 1):
        acc = out[k]
        for p in range(n):
            acc[p] = 0.0
        t, end = model_start[k], model_start[k + 1]
        while t + 8 <= end:
            p = 0
            while p + 4 <= n:
                a0, b0, a1, b1 = left_row[p], right_row[p], left_row[p + 1], right_row[p + 1]
                a2, b2, a3, b3 = left_row[p + 2], right_row[p + 2], left_row[p + 3], right_row[p + 3]
                s0, s1, s2, s3 = acc[p], acc[p + 1], acc[p + 2], acc[p + 3]
                for u in range(8):
                    s0 += leaf_value[t + u, trailing_zeros(left[t + u, a0] & right[t + u, b0])]
                    s1 += leaf_value[t + u, trailing_zeros(left[t + u, a1] & right[t + u, b1])]
                    s2 += leaf_value[t + u, trailing_zeros(left[t + u, a2] & right[t + u, b2])]
                    s3 += leaf_value[t + u, trailing_zeros(left[t + u, a3] & right[t + u, b3])]
                acc[p], acc[p + 1], acc[p + 2], acc[p + 3] = s0, s1, s2, s3
                p += 4
            while p < n:
                a0, b0 = left_row[p], right_row[p]
                s0 = acc[p]
                for u in range(8):
                    s0 += leaf_value[t + u, trailing_zeros(left[t + u, a0] & right[t + u, b0])]
                acc[p] = s0
                p += 1
            t += 8
        while t < end:
            for p in range(n):
                acc[p] += leaf_value[t, trailing_zeros(left[t, left_row[p]] & right[t, right_row[p]])]
            t += 1


def _sigmoid_rows(out, factor):  # noqa: ANN001, ANN202
    # the C library's exp, as LightGBM's `1.0f / (1.0f + std::exp(-sigmoid_ * input))` (numpy's may differ by an ulp)
    for k in range(out.shape[0]):
        if factor[k] > 0:
            for p in range(out.shape[1]):
                out[k, p] = 1.0 / (1.0 + math.exp(-factor[k] * out[k, p]))


_COMPILED: dict[str, Callable[..., None]] = {}


def ready() -> bool:
    """Compile (or load from the on-disk cache) the kernels once; False when numba is missing or fails to load."""
    if not _COMPILED and AVAILABLE:
        try:
            import numba
            from numba.cpython.unsafe.numbers import trailing_zeros
        except Exception:  # noqa: BLE001 - a broken numba means "not here", never a failed round
            return False
        globals()["trailing_zeros"] = trailing_zeros  # read by _pair_scores when numba compiles it
        jit = numba.njit(cache=True, nogil=True)
        _COMPILED.update({f.__name__: jit(f) for f in (_side_masks, _pair_scores, _sigmoid_rows)})
    return bool(_COMPILED)


def _require_kernels() -> None:
    if not _COMPILED and not ready():
        raise RuntimeError("numba is not available here: use Booster.predict")


__all__ = ["AVAILABLE", "Forest", "Unsupported", "ready"]
