"""Classification embeddings (CE): a model's decision split into per-feature terms.

For a final linear map with weights ``W`` (C x D), bias ``b`` and features ``F`` (D) of one
instance, ``CE[c, d] = F[d] * W[c, d]`` and the decision is ``CE.sum(-1) + b``
(methods#ce). ``extract`` is the single entry point.
"""
from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np

SUPPORTED = (
    "a fitted scikit-learn linear classifier (LogisticRegression, LinearSVC, SGDClassifier, "
    "RidgeClassifier, Perceptron, ...; binary or multi-class), a binary SVC or NuSVC with any "
    "kernel, a scikit-learn or imbalanced-learn Pipeline ending in one of these, or a torch "
    "nn.Module whose output is the output of its head (its last nn.Linear, or the layer head= names)"
)
INVARIANT_ROWS = 16  # rows on which a duck-typed linear model's decision is checked against its CE
KERNEL_BLOCK_ELEMENTS = 1 << 20  # kernel-matrix entries computed at once (8 MiB in float64: recycled, not mapped anew)


class UnsupportedModelError(TypeError):
    """The model's decision cannot be decomposed into classification embeddings.

    ``extract`` raises it, with one sentence that names what it got and what is supported, for
    anything it cannot decompose: a tree ensemble, a multi-class SVC, an unfitted model, a torch
    module whose output is not its head's, or something that is no model at all.
    """


@dataclass
class CEResult:
    """Classification embeddings of N instances, as ``extract`` returns them (methods#ce).

    ``CE[n, c, d] = features[n, d] * weights[c, d]``: (N, D) for binary scikit-learn models,
    signed toward ``classes[1]``, and (N, C, D) for multi-class and torch models. The invariant
    ``ce.sum(-1) + bias == decision`` holds for every supported model.

    Parameters
    ----------
    given_ce : ndarray or None
        The CE, when given (any array of the shape above); None leaves the multi-class
        (N, C, D) tensor unbuilt until ``ce`` is read, and the metrics take the rows they need
        (the predicted class's, the runner-up's) from ``features`` and ``weights``. A
        ResNet-50 head on ImageNet's 50,000 validation images would otherwise hold 0.8 TB.
    bias : float or ndarray
        A float (binary) or a (C,) array.
    features : ndarray
        (N, D) inputs of the final linear map.
    weights : ndarray
        Its (D,) (binary) or (C, D) weights.
    classes : ndarray
        The class labels, in the order of the decision's columns.
    model_decision : ndarray or callable
        The model's own decision_function or logits, kept to check the invariant. For
        scikit-learn models a function that asks the model only when the decision is read
        (``decision_of(rows)`` asks for some rows): libsvm's own decision function costs more
        than the whole decomposition.

    See Also
    --------
    extract : makes a CEResult from a fitted model.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from ceimb_utils.ce import extract
    >>> X, y = make_classification(n_samples=90, n_features=5, n_classes=3,
    ...                            n_clusters_per_class=1, random_state=0)
    >>> result = extract(LogisticRegression().fit(X, y), X)
    >>> result.binary, result.n_instances, result.n_terms
    (False, 90, 5)
    >>> result.ce.shape, result.scores.shape
    ((90, 3, 5), (90, 3))
    >>> int((result.predict() == y).sum())  # predictions from the CE and the bias
    86
    """

    given_ce: np.ndarray | None
    bias: float | np.ndarray
    features: np.ndarray
    weights: np.ndarray
    classes: np.ndarray
    model_decision: np.ndarray | Callable = field(repr=False)

    @cached_property
    def ce(self) -> np.ndarray:
        """The whole CE array; built from features and weights when it was not given."""
        if self.given_ce is not None:
            return self.given_ce
        if self.binary:
            return self.features * self.weights
        return self.features[:, None, :] * self.weights[None, :, :]

    @cached_property
    def decision(self) -> np.ndarray:
        """The model's own decision for every instance, (N,) binary and (N, C) otherwise."""
        return self.decision_of(None)

    def decision_of(self, rows=None) -> np.ndarray:
        """The model's own decision for ``rows`` (indices; None for all)."""
        if callable(self.model_decision):
            return np.asarray(self.model_decision(rows))
        return self.model_decision if rows is None else self.model_decision[rows]

    @property
    def binary(self) -> bool:
        """Whether the CE are (N, D), one score signed toward ``classes[1]``."""
        return self.given_ce.ndim == 2 if self.given_ce is not None else np.ndim(self.weights) == 1

    @property
    def n_terms(self) -> int:
        """D, the number of CE per class."""
        return (self.given_ce if self.given_ce is not None else self.weights).shape[-1]

    @property
    def n_instances(self) -> int:
        """N, the number of instances."""
        return (self.given_ce if self.given_ce is not None else self.features).shape[0]

    @cached_property
    def scores(self) -> np.ndarray:
        """The scores ``ce.sum(-1) + bias``, (N,) for binary results and (N, C) otherwise.

        From features and weights, ``features @ weights.T + bias``, when the CE were not given.
        A binary result without given CE sums ``features * weights`` a block of rows at a time,
        the same sums as ``ce.sum(-1)`` without the (N, D) array."""
        if self.given_ce is not None or "ce" in self.__dict__:
            return self.ce.sum(-1) + self.bias
        if self.binary:
            n = self.n_instances
            out = np.empty(n)
            step = max(1, KERNEL_BLOCK_ELEMENTS // max(self.n_terms, 1))
            for start in range(0, n, step):
                out[start:start + step] = (self.features[start:start + step] * self.weights).sum(-1)
            return out + self.bias
        return self.features @ self.weights.T + self.bias

    def signed_rows(self, sign: np.ndarray, rows=None) -> np.ndarray:
        """(n, D) a binary result's CE of ``rows`` (indices or a slice; all by default) times each
        row's ``sign`` (+1 or -1), a new array."""
        rows = slice(None) if rows is None else rows
        if self.given_ce is not None or "ce" in self.__dict__:
            return self.ce[rows] * sign[:, None]
        if isinstance(rows, slice):
            out = self.features[rows] * self.weights
        else:  # indexing copies already: multiply that copy in place
            out = self.features[rows]
            out *= self.weights
        out *= sign[:, None]
        return out

    def class_rows(self, index: np.ndarray, rows=None) -> np.ndarray:
        """(n, D) ``CE[n, index[n], :]`` of a multi-class result for ``rows`` (indices or a slice;
        all by default; ``index`` has one entry per row taken), without the (N, C, D) array."""
        index = np.asarray(index)
        rows = slice(None) if rows is None else rows
        if self.given_ce is not None:
            return self.given_ce[rows][np.arange(len(index)), index]
        return self.features[rows] * self.weights[index]

    @cached_property
    def predicted_index(self) -> np.ndarray:
        """Index into ``classes`` of each prediction, bias included."""
        if self.binary:
            return (self.scores > 0).astype(np.intp)
        return self.scores.argmax(1)

    def predict(self) -> np.ndarray:
        """The predicted label of each instance, from the CE and the bias."""
        return self.classes[self.predicted_index]

    def class_index(self, y) -> np.ndarray:
        """Map labels to indices into ``classes``, refusing any label the model does not know."""
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != self.n_instances:
            raise ValueError(f"y must be a 1-d array of {self.n_instances} labels, got shape {y.shape}.")
        if y.dtype == object or self.classes.dtype == object:
            return self._class_index_by_lookup(y)
        order = np.argsort(self.classes, kind="stable")
        sorted_classes = self.classes[order]
        pos = np.clip(np.searchsorted(sorted_classes, y), 0, len(order) - 1)
        bad = sorted_classes[pos] != y
        if bad.any():
            unknown = np.unique(y[bad])[:5].tolist()
            raise ValueError(
                f"y holds labels {unknown} that are not among the model's classes {self.classes.tolist()}."
            )
        return order[pos]

    def _class_index_by_lookup(self, y: np.ndarray) -> np.ndarray:
        """Labels held as Python objects (pandas strings, mixed types): matched by equality."""
        lookup = {c: i for i, c in enumerate(self.classes.tolist())}
        codes = np.fromiter((lookup.get(v, -1) for v in y.tolist()), dtype=np.intp, count=len(y))
        if (codes < 0).any():
            unknown = list(dict.fromkeys(v for v, c in zip(y.tolist(), codes) if c < 0))[:5]
            raise ValueError(f"y holds labels {unknown} that are not among the model's classes {self.classes.tolist()}.")
        return codes

    def astype(self, dtype) -> "CEResult":
        """A copy with arrays in ``dtype`` (e.g. float32 for storage)."""
        bias = self.bias if np.isscalar(self.bias) else np.asarray(self.bias, dtype)
        decision = self.model_decision
        decision = decision if callable(decision) else np.asarray(decision, dtype)
        ce = None if self.given_ce is None else self.given_ce.astype(dtype)
        return CEResult(ce, bias, self.features.astype(dtype), self.weights.astype(dtype), self.classes, decision)


def extract(model, X, *, batch_size: int = 512, head=None, hooks=()) -> CEResult:
    """Classification embeddings of ``X`` under a fitted ``model`` (methods#ce).

    Splits the model's decision for each instance into one term per input of its final linear
    map, ``CE[n, c, d] = F[n, d] * W[c, d]``, so that ``CE.sum(-1) + bias`` is the model's own
    decision function (scikit-learn) or logits (torch).

    Parameters
    ----------
    model : estimator, Pipeline or torch.nn.Module
        A fitted scikit-learn linear classifier (LogisticRegression, LinearSVC, SGDClassifier,
        RidgeClassifier, Perceptron, ...; binary or multi-class), a binary SVC or NuSVC with
        any kernel (its terms are the kernel values against the distinct support vectors), a
        scikit-learn or imbalanced-learn Pipeline ending in one of these, or a torch
        ``nn.Module`` whose output is the output of its head.
    X : array-like, sparse matrix, DataFrame or tensor
        (N, ...) inputs; for a torch model also a ``Dataset``, a ``DataLoader`` (not
        shuffling) or any iterable of batches, a batch being a tensor or a tuple / list whose
        first item is the input.
    batch_size : int, default 512
        Instances per forward pass of a torch model. Torch models run in ``eval()`` mode
        without gradients, on the device of their parameters; NumPy (float64) comes out.
    head : torch.nn.Module or str, optional
        Torch only: the final linear layer, as a module of ``model`` or its name (``"fc"``,
        ``"classifier.2"``). By default the last registered ``nn.Linear``, with a warning when
        a module with parameters is registered after it. A head with a method
        ``ce_terms(features) -> (F, W, b)`` (a cosine-normalised head, say) gives the terms of
        the logit it computes, ``logit[c] = (F * W[c]).sum(-1) + b[c]``.

    Returns
    -------
    CEResult
        The CE with the features, weights, bias, classes and the model's own decision.

    Raises
    ------
    UnsupportedModelError
        ``model`` is not one of the above (a random forest, a multi-class SVC, a plain object),
        is not fitted, or its decision is not its head's output.
    ValueError
        ``X`` has another number of features than the model was fitted on, or holds no
        instance, or a DataLoader that shuffles.

    Notes
    -----
    ``hooks`` (torch only): (module, forward hook) pairs registered for this one pass over X,
    so that a hook reads what the same forward pass computes (``latent.PrePoolCounts`` reads
    the feature maps before pooling).

    In a Pipeline, samplers (imbalanced-learn's SMOTE and the like) are skipped, as
    imbalanced-learn does at prediction; every other step transforms ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from ceimb_utils.ce import extract
    >>> X, y = make_classification(n_samples=200, n_features=6, weights=[0.9],
    ...                            random_state=0)
    >>> result = extract(LogisticRegression().fit(X, y), X)
    >>> result.ce.shape  # binary: one term per feature, toward classes[1]
    (200, 6)
    >>> bool(np.allclose(result.ce.sum(-1) + result.bias, result.decision))
    True
    >>> extract({}, X)
    Traceback (most recent call last):
    ...
    ceimb_utils.ce.extraction.UnsupportedModelError: Cannot decompose a dict; supported: ...
    """
    if _is_torch_module(model):
        return _extract_torch(model, X, batch_size, head, hooks)
    if head is not None:
        raise UnsupportedModelError(f"head= names the final layer of a torch module; a {type(model).__name__} "
                                    "has none to choose.")
    if hooks:
        raise UnsupportedModelError(f"hooks= name layers of a torch module; a {type(model).__name__} has none.")
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC, NuSVC

    if isinstance(model, type):
        raise UnsupportedModelError(f"Cannot decompose the class {model.__name__}; pass a fitted instance of it. "
                                    f"Supported: {SUPPORTED}.")
    if isinstance(model, Pipeline):
        _check_fitted(model)
        return extract(model[-1], transform_for_prediction(model, X))
    if isinstance(model, (SVC, NuSVC)):
        return _extract_svc(model, X)
    if _is_classifier(model) and hasattr(model, "decision_function") and _has_linear_parameters(model):
        return _extract_linear(model, X)
    name = type(model).__name__
    raise UnsupportedModelError(f"Cannot decompose {'an' if name[:1].lower() in 'aeiou' else 'a'} {name}; "
                                f"supported: {SUPPORTED}.")


def _is_classifier(model) -> bool:
    """scikit-learn's ``is_classifier``, and False for anything that is no scikit-learn estimator
    (a plain object, a dict), for which it raises an AttributeError about ``__sklearn_tags__``
    from scikit-learn 1.6 on."""
    from sklearn.base import is_classifier

    try:
        return is_classifier(model)
    except AttributeError:
        return False


def _has_linear_parameters(model) -> bool:
    """A linear classifier: ``coef_`` (C or 1, D) and ``intercept_``, or a model that will have
    them once fitted (scikit-learn's ``LinearClassifierMixin``)."""
    try:
        from sklearn.linear_model._base import LinearClassifierMixin
    except ImportError:  # a private path; the attributes say the same once fitted
        LinearClassifierMixin = ()
    return isinstance(model, LinearClassifierMixin) or (hasattr(model, "coef_") and hasattr(model, "intercept_"))


def transform_for_prediction(pipeline, X):
    """``X`` through every step of ``pipeline`` but the last, as predicting does: samplers
    (steps with ``fit_resample`` and no ``transform``) act only while fitting."""
    for _, step in pipeline.steps[:-1]:
        if step is None or (isinstance(step, str) and step == "passthrough"):
            continue
        if hasattr(step, "fit_resample") and not hasattr(step, "transform"):
            continue
        X = step.transform(X)
    return X


def _check_fitted(model) -> None:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(model)
    except NotFittedError as err:
        raise UnsupportedModelError(
            f"The {type(model).__name__} is not fitted; fit it first. Supported: {SUPPORTED}."
        ) from err


def _decision(model, X) -> Callable:
    """The model's decision_function on X (or some of its rows), computed when asked."""
    from scipy import sparse

    if sparse.issparse(X):
        X = X.tocsr()  # rows can be taken from CSR, not from COO
    elif not hasattr(X, "iloc"):
        X = np.asarray(X)  # lists and other sequences

    def decide(rows=None):
        if rows is None:
            return model.decision_function(X)
        return model.decision_function(X.iloc[rows] if hasattr(X, "iloc") else X[rows])

    return decide


def _dense(X) -> np.ndarray:
    from scipy import sparse

    X = X.toarray() if sparse.issparse(X) else X
    return np.asarray(X, dtype=np.float64)


def _extract_linear(model, X) -> CEResult:
    """Any linear classifier: ``decision = X @ coef_.T + intercept_`` (binary: one score,
    > 0 means ``classes_[1]``), checked on a few rows before it is returned."""
    _check_fitted(model)
    F = _dense(X)
    W = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
    b = np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64)) * np.ones(W.shape[0])
    if W.shape[1] != F.shape[1]:
        raise ValueError(f"X has {F.shape[1]} features; the {type(model).__name__} was fitted on {W.shape[1]}.")
    if W.shape[0] == 1:
        result = CEResult(F * W[0], float(b[0]), F, W[0], np.asarray(model.classes_), _decision(model, X))
    else:
        result = CEResult(None, b, F, W, np.asarray(model.classes_), _decision(model, X))
    _verify_linear(result, model)
    return result


def _verify_linear(result: CEResult, model) -> None:
    """Refuse a model whose coef_ and intercept_ do not give its own decision_function."""
    n = result.n_instances
    rows = np.unique(np.linspace(0, n - 1, min(INVARIANT_ROWS, n)).astype(int)) if n else np.arange(0)
    decision = np.asarray(result.decision_of(rows), dtype=np.float64)
    # Rounding scales with the terms summed, not with their sum (a float32 model near 0).
    W = np.atleast_2d(result.weights)
    magnitude = np.abs(result.features[rows]) @ np.abs(W).T + np.abs(np.atleast_1d(result.bias))
    if decision.shape != result.scores[rows].shape or not (
            np.abs(result.scores[rows] - decision) <= 64 * np.finfo(np.float32).eps * magnitude.reshape(decision.shape)
            + 1e-12).all():
        raise UnsupportedModelError(f"The {type(model).__name__}'s decision_function is not X @ coef_.T + "
                                    f"intercept_, so it does not decompose into CE; supported: {SUPPORTED}.")


def kernel_features(model, X, rows: np.ndarray | None = None) -> np.ndarray:
    """``K(x, SV_j)`` for every row of X and support vector j of a fitted SVC (only the support
    vectors ``rows``, when given), computed in row blocks."""
    from sklearn.metrics.pairwise import pairwise_kernels

    rows = np.arange(len(model.support_)) if rows is None else np.asarray(rows)
    if model.kernel == "precomputed":
        return _dense(np.asarray(X)[:, model.support_[rows]])
    X = _dense(X)
    sv = _support_rows(model)[rows]
    step = max(1, KERNEL_BLOCK_ELEMENTS // max(len(rows), 1))
    out = np.empty((X.shape[0], len(rows)))
    for start in range(0, X.shape[0], step):
        block = X[start:start + step]
        if callable(model.kernel):
            out[start:start + step] = model.kernel(block, sv)
        else:
            out[start:start + step] = pairwise_kernels(
                block, sv, metric=model.kernel, gamma=model._gamma, degree=model.degree,
                coef0=model.coef0, filter_params=True,
            )
    return out


def _extract_svc(model, X) -> CEResult:
    _check_fitted(model)
    if len(model.classes_) != 2:
        raise UnsupportedModelError(
            f"A multi-class SVC ({len(model.classes_)} classes) decides by one-vs-one votes, which "
            f"do not decompose into one sum per class; supported: {SUPPORTED}."
        )
    first, groups = distinct_support_vectors(model)
    w = np.bincount(groups, weights=np.asarray(model.dual_coef_, dtype=np.float64)[0], minlength=len(first))
    F = kernel_features(model, X, first)
    # The (N, D) CE are built only when read: the metrics take them row-signed (``signed_rows``).
    return CEResult(None, float(model.intercept_[0]), F, w, model.classes_, _decision(model, X))


def distinct_support_vectors(model) -> tuple[np.ndarray, np.ndarray]:
    """Support vectors that are exact copies of one another, merged (methods#readings).

    ReMix emits each mixed row twice (once per label), so an SVM trained on it holds twin
    support vectors whose kernel terms are identical; summing their dual coefficients keeps the
    decision and makes D the number of distinct support vectors. Returns the index of each
    distinct vector's first occurrence (in order) and, per support vector, its group.
    A precomputed kernel shows no rows to compare: every support vector stays its own.
    """
    n_sv = len(model.support_)
    if model.kernel == "precomputed" or n_sv == 0:
        return np.arange(n_sv), np.arange(n_sv)
    sv = _support_rows(model)
    _, first, inverse = np.unique(sv, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # distinct vectors in the order of first occurrence
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse.ravel()]


def _support_rows(model) -> np.ndarray:
    sv = model.support_vectors_
    if callable(model.kernel) and sv.shape[0] == 0:
        # scikit-learn keeps no support vectors for callable kernels, only its training rows
        sv = _dense(model._BaseLibSVM__Xfit)[model.support_]
    return _dense(sv)


def _is_torch_module(model) -> bool:
    if "torch" not in sys.modules:  # no torch model can exist before torch is imported
        return False
    import torch.nn as nn

    return isinstance(model, nn.Module)


def final_linear(model, head=None):
    """The head of ``model``: ``head`` (a module of it or its name), else the last registered
    ``nn.Linear`` (a warning says so when a module with parameters is registered after it);
    an UnsupportedModelError when there is none."""
    import torch.nn as nn

    name = type(model).__name__
    if head is not None:
        if isinstance(head, str):
            try:
                head = model.get_submodule(head)
            except AttributeError as err:
                raise UnsupportedModelError(f"The {name} has no module {head!r}; head= takes a module of the "
                                            f"model or its name as in named_modules().") from err
        if not any(m is head for m in model.modules()):
            raise UnsupportedModelError(f"head= must be a module of the {name}, got a {type(head).__name__} "
                                        "that is not one of them.")
        if not isinstance(head, nn.Linear):
            raise UnsupportedModelError(f"head= must be an nn.Linear (its input times its weight is the CE), "
                                        f"got a {type(head).__name__}.")
        return head
    named = list(model.named_modules())
    linears = [i for i, (_, m) in enumerate(named) if isinstance(m, nn.Linear)]
    if not linears:
        raise UnsupportedModelError(f"The {name} has no nn.Linear; supported: {SUPPORTED}.")
    last = linears[-1]
    inside = named[last][0] + "."
    after = [n for n, m in named[last + 1:] if not n.startswith(inside)
             and any(True for _ in m.parameters(recurse=False))]
    if after:
        warnings.warn(f"Taking {named[last][0]!r}, the last nn.Linear of the {name}, as its head, though "
                      f"{after[0]!r} is registered after it; pass head= to choose another.", stacklevel=4)
    return named[last][1]


def _batches(X, batch_size: int):
    """Input batches of X: slices of an array or tensor, else what a Dataset's DataLoader or an
    iterable yields (a tuple's first item)."""
    import torch
    from torch.utils.data import BatchSampler, DataLoader, Dataset, SequentialSampler

    if isinstance(X, DataLoader) and not (isinstance(X.sampler, SequentialSampler) and
                                          isinstance(X.batch_sampler, (BatchSampler, type(None)))):
        raise ValueError("The DataLoader does not read its data set in order (shuffle or a sampler): its CE "
                         "would not line up with the labels; pass shuffle=False and no sampler.")
    if isinstance(X, Dataset) and not hasattr(X, "shape"):
        X = DataLoader(X, batch_size=batch_size, shuffle=False)
    if hasattr(X, "shape") and hasattr(X, "__getitem__"):
        for start in range(0, len(X), batch_size):
            yield torch.as_tensor(X[start:start + batch_size])
        return
    for batch in X:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        yield torch.as_tensor(batch)


def _extract_torch(model, X, batch_size: int, head=None, hooks=()) -> CEResult:
    import torch

    head = final_linear(model, head)
    head_name = next(n for n, m in model.named_modules() if m is head) or type(head).__name__
    param = next(model.parameters())
    captured: list = []

    def hook(_module, inputs, output):
        captured.append((inputs[0].detach(), output.detach()))

    handles = [head.register_forward_hook(hook)] + [module.register_forward_hook(fn) for module, fn in hooks]
    was_training = model.training
    model.eval()
    feats, logits = [], []
    try:
        with torch.no_grad():
            for batch in _batches(X, batch_size):
                if batch.is_floating_point():
                    batch = batch.to(param.dtype)
                captured.clear()
                out = model(batch.to(param.device))
                if len(captured) != 1 or out.shape != captured[0][1].shape or not torch.equal(out, captured[0][1]):
                    raise UnsupportedModelError(
                        f"The output of the {type(model).__name__} is not the output of its head "
                        f"{head_name!r} (used {len(captured)} times per forward pass); name the layer that "
                        f"gives the output with head=, or, where a layer after the head changes its output "
                        f"(a softmax, say), pass a module that ends at the head's logits. Supported: {SUPPORTED}."
                    )
                feats.append(captured[0][0].flatten(1).double().cpu())
                logits.append(out.double().cpu())
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    if not feats:
        raise ValueError("X holds no instance.")
    F = torch.cat(feats).numpy()
    W = head.weight.detach().double().cpu().numpy()
    b = head.bias.detach().double().cpu().numpy() if head.bias is not None else np.zeros(W.shape[0])
    if hasattr(head, "ce_terms"):  # a head that normalises: the terms of the logit it computes
        F, W, b = head.ce_terms(F)
    return CEResult(None, b, F, W, np.arange(W.shape[0]), torch.cat(logits).numpy())
