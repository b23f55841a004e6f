"""The invariant CE.sum(-1) + bias == decision for every supported model, and clear refusals."""
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, NuSVC

from ceimb_utils import ce
from ceimb_utils.ce import extraction
from ceimb_utils.models.resnet import build_resnet


def assert_invariant(result, atol=1e-9):
    np.testing.assert_allclose(result.ce.sum(-1) + result.bias, result.decision, rtol=1e-6, atol=atol)


def data(n_classes=2, n=120, d=6, seed=0):
    return make_classification(n, d, n_informative=min(d, 4), n_redundant=0, n_classes=n_classes,
                               n_clusters_per_class=1, weights=None, random_state=seed)


def test_binary_logistic_regression():
    X, y = data()
    r = ce.extract(LogisticRegression().fit(X, y), X)
    assert r.ce.shape == (120, 6) and np.isscalar(r.bias) and r.binary
    np.testing.assert_array_equal(r.features, X)
    assert_invariant(r)
    np.testing.assert_array_equal(r.predict(), LogisticRegression().fit(X, y).predict(X))


def test_multinomial_logistic_regression():
    X, y = data(n_classes=4)
    model = LogisticRegression(max_iter=500).fit(X, y)
    r = ce.extract(model, X)
    assert r.ce.shape == (120, 4, 6) and r.bias.shape == (4,)
    assert_invariant(r)
    np.testing.assert_array_equal(r.predict(), model.predict(X))


@pytest.mark.parametrize("model", [
    SVC(), SVC(kernel="linear"), SVC(kernel="poly", degree=3, coef0=1.0), SVC(kernel="sigmoid", gamma=0.01),
    SVC(gamma=0.3, C=10), NuSVC(nu=0.3), SVC(kernel=lambda a, b: (a @ b.T + 1) ** 2),
])
def test_binary_svc_any_kernel(model):
    X, y = data()
    y = np.where(y == 1, "pos", "neg")  # string labels: the score is signed toward classes_[1]
    model.fit(X, y)
    r = ce.extract(model, X)
    assert r.ce.shape == (120, len(model.support_))
    assert_invariant(r)
    np.testing.assert_array_equal(r.predict(), model.predict(X))


def test_svc_precomputed_kernel():
    X, y = data()
    K = X @ X.T
    model = SVC(kernel="precomputed").fit(K, y)
    r = ce.extract(model, K)
    assert_invariant(r, atol=1e-7)


def test_svc_kernel_blocks_do_not_change_features(monkeypatch):
    X, y = data(n=200)
    model = SVC().fit(X, y)
    whole = ce.extract(model, X).features
    monkeypatch.setattr(extraction, "KERNEL_BLOCK_ELEMENTS", 7)
    np.testing.assert_allclose(ce.extract(model, X).features, whole)


def test_remix_twin_support_vectors_are_merged():
    """ReMix emits each mixed row twice with opposite labels: the SVM holds identical support
    vectors, which must count once (D = distinct vectors), with their dual coefficients summed."""
    from ceimb_utils.models.tabular import fit_tabular

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (300, 5)), rng.normal(1.2, 1, (20, 5))])
    y = np.r_[np.zeros(300, int), np.ones(20, int)]
    fit = fit_tabular("svm", "remix", X, y, seed=0)
    svc = fit.model[-1]
    distinct = len(np.unique(svc.support_vectors_, axis=0))
    assert distinct < len(svc.support_)  # the twins are there
    result = ce.extract(fit.model, X)
    assert result.n_terms == distinct
    assert_invariant(result)
    np.testing.assert_allclose(result.weights.sum(), svc.dual_coef_.sum(), atol=1e-9)
    # what the merge corrects: the twins double D while the terms carry the same decision
    split = ce.CEResult(ce.kernel_features(svc, fit.model[:-1].transform(X)) * svc.dual_coef_[0],
                        float(svc.intercept_[0]), None, svc.dual_coef_[0], svc.classes_, result.decision)
    assert_invariant(split)
    assert split.n_terms > result.n_terms


def test_distinct_support_vectors_keep_first_occurrence_order():
    X = np.array([[0.0, 0], [1, 1], [0, 0], [2, 2], [1, 1], [3, 0]])
    y = np.array([0, 1, 1, 0, 0, 1])
    model = SVC(C=100).fit(X, y)
    first, groups = ce.distinct_support_vectors(model)
    sv = model.support_vectors_
    np.testing.assert_array_equal(sv[first], np.unique(sv, axis=0)[np.argsort(np.unique(sv, axis=0, return_index=True)[1])])
    np.testing.assert_array_equal(sv[first][groups], sv)  # every vector maps to its distinct copy
    assert_invariant(ce.extract(model, X))


def test_pipeline_applies_preprocessing():
    X, y = data()
    X = X * 100 + 5
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    r = ce.extract(pipe, X)
    np.testing.assert_allclose(r.features, pipe[0].transform(X))
    np.testing.assert_allclose(r.ce.sum(-1) + r.bias, pipe.decision_function(X), rtol=1e-6, atol=1e-9)


def test_torch_resnet_logits_and_nonnegative_features():
    torch.manual_seed(0)
    model = build_resnet("resnet8", 5, 3)
    images = np.random.default_rng(0).integers(0, 256, size=(37, 3, 32, 32), dtype=np.uint8)
    r = ce.extract(model, images, batch_size=16)
    assert r.ce.shape == (37, 5, 64) and r.features.shape == (37, 64)
    assert (r.features >= 0).all()
    assert_invariant(r, atol=1e-5)
    with torch.no_grad():
        model.eval()
        np.testing.assert_allclose(r.decision, model(torch.from_numpy(images)).double().numpy(), rtol=1e-5, atol=1e-5)
    model.train()
    ce.extract(model, images[:3])
    assert model.training


class MLP(nn.Module):
    def __init__(self, d_in, hidden, c, bias=True):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, c, bias=bias)

    def forward(self, x):
        return self.head(self.body(x))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), d_in=st.integers(1, 12), hidden=st.integers(1, 20), c=st.integers(1, 6),
       bias=st.booleans(), batch=st.integers(1, 17), seed=st.integers(0, 1000))
def test_torch_invariant_random_shapes(n, d_in, hidden, c, bias, batch, seed):
    torch.manual_seed(seed)
    model = MLP(d_in, hidden, c, bias)
    X = torch.randn(n, d_in)
    r = ce.extract(model, X, batch_size=batch)
    assert r.ce.shape == (n, c, hidden)
    assert_invariant(r, atol=1e-5)


@settings(max_examples=20, deadline=None)
@given(n_classes=st.integers(2, 4), d=st.integers(2, 9), seed=st.integers(0, 1000))
def test_sklearn_invariant_random_shapes(n_classes, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60, d))
    y = np.arange(60) % n_classes
    X += y[:, None] * 0.5
    assert_invariant(ce.extract(LogisticRegression(max_iter=300).fit(X, y), X))
    if n_classes == 2:
        assert_invariant(ce.extract(SVC(gamma=float(rng.uniform(0.05, 2))).fit(X, y), X))


# ---------------------------------------------------------------- refusals
def test_multiclass_svc_is_refused():
    X, y = data(n_classes=3)
    with pytest.raises(ce.UnsupportedModelError, match="multi-class SVC.*supported"):
        ce.extract(SVC().fit(X, y), X)


@pytest.mark.parametrize("model", [LogisticRegression(), SVC(), make_pipeline(StandardScaler(), SVC())])
def test_unfitted_is_refused(model):
    with pytest.raises(ce.UnsupportedModelError, match="not fitted"):
        ce.extract(model, np.zeros((2, 3)))


def test_other_estimators_are_refused():
    from sklearn.tree import DecisionTreeClassifier

    X, y = data()
    with pytest.raises(ce.UnsupportedModelError, match="DecisionTreeClassifier; supported: a fitted scikit-learn linear classifier"):
        ce.extract(DecisionTreeClassifier().fit(X, y), X)
    with pytest.raises(ce.UnsupportedModelError, match="head= names the final layer of a torch module"):
        ce.extract(LogisticRegression().fit(X, y), X, head="fc")


@pytest.mark.parametrize("model, named", [(object(), "an object"), ({}, "a dict"), (None, "a NoneType")])
def test_anything_else_gets_the_sentence_a_random_forest_gets(model, named):
    from sklearn.ensemble import RandomForestClassifier

    X, y = data()
    with pytest.raises(ce.UnsupportedModelError) as forest:
        ce.extract(RandomForestClassifier(n_estimators=2, random_state=0).fit(X, y), X)
    with pytest.raises(ce.UnsupportedModelError) as other:
        ce.extract(model, X)
    assert str(forest.value).startswith("Cannot decompose a RandomForestClassifier; supported: ")
    assert str(other.value) == str(forest.value).replace("a RandomForestClassifier", named)


def test_a_class_instead_of_a_model_is_refused():
    with pytest.raises(ce.UnsupportedModelError, match="the class LogisticRegression; pass a fitted instance"):
        ce.extract(LogisticRegression, np.zeros((2, 3)))


def test_torch_without_linear_is_refused():
    with pytest.raises(ce.UnsupportedModelError, match="has no nn.Linear"):
        ce.extract(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten()), torch.zeros(2, 1, 5, 5))


def test_torch_with_work_after_the_linear_is_refused():
    model = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))
    with pytest.raises(ce.UnsupportedModelError, match="not the output of its head"):
        ce.extract(model, torch.zeros(2, 4))


# ---------------------------------------------------------------- the ecosystem's classifiers (issue 26)
def linear_classifiers():
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import Perceptron, RidgeClassifier, SGDClassifier
    from sklearn.svm import LinearSVC

    return [LogisticRegression(max_iter=500), LinearSVC(), SGDClassifier(random_state=0), RidgeClassifier(),
            Perceptron(random_state=0), LinearDiscriminantAnalysis()]


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("index", range(6))
def test_every_linear_classifier_decomposes_exactly(n_classes, index):
    X, y = data(n_classes=n_classes)
    model = linear_classifiers()[index].fit(X, y)
    r = ce.extract(model, X)
    assert_invariant(r)
    np.testing.assert_array_equal(r.predict(), model.predict(X))
    assert r.ce.shape == ((len(X), 6) if n_classes == 2 else (len(X), n_classes, 6))


def test_imbalanced_learn_pipeline_skips_its_sampler_at_prediction():
    from imblearn.over_sampling import SMOTE
    from imblearn.pipeline import make_pipeline as imb_pipeline

    X, y = make_classification(300, 6, weights=[0.9, 0.1], random_state=0)
    pipe = imb_pipeline(StandardScaler(), SMOTE(random_state=0), LogisticRegression()).fit(X, y)
    r = ce.extract(pipe, X)
    assert r.features.shape == X.shape  # predicting never resamples
    np.testing.assert_allclose(r.features, pipe[0].transform(X))
    np.testing.assert_allclose(r.scores, pipe.decision_function(X), rtol=1e-6, atol=1e-9)


def test_labels_of_any_dtype():
    import pandas as pd

    from ceimb_utils.ce import metrics

    X, y = data(n_classes=3)
    names = pd.Series(np.array(["cat", "dog", "eel"], dtype=object)[y])  # pandas keeps strings as objects
    r = ce.extract(LogisticRegression().fit(X, names), X)
    codes = ce.extract(LogisticRegression().fit(X, y), X)
    np.testing.assert_array_equal(metrics.required_ce(r, names), metrics.required_ce(codes, y))
    np.testing.assert_array_equal(metrics.class_topk_union(r, names.to_numpy()), metrics.class_topk_union(codes, y))
    with pytest.raises(ValueError, match=r"labels \['fox'\] that are not among the model's classes"):
        metrics.required_ce(r, names.replace("eel", "fox"))


class LinearLooking:
    """Has coef_ and intercept_, but decides by something else: must be refused."""
    _estimator_type = "classifier"

    def fit(self, X, y):
        self.coef_, self.intercept_, self.classes_ = np.ones((1, X.shape[1])), np.zeros(1), np.unique(y)
        return self

    def decision_function(self, X):
        return (np.asarray(X) ** 2).sum(1) - 1

    def __sklearn_tags__(self):
        from sklearn.utils import Tags, ClassifierTags, TargetTags
        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags())


def test_a_model_that_only_looks_linear_is_refused():
    X, y = data()
    with pytest.raises(ce.UnsupportedModelError, match="is not X @ coef_.T \\+ intercept_"):
        ce.extract(LinearLooking().fit(X, y), X)


def test_torch_inputs_as_datasets_loaders_and_batches():
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    model = MLP(5, 7, 3)
    X, y = torch.randn(23, 5), torch.arange(23) % 3
    ref = ce.extract(model, X, batch_size=4)
    for source in (TensorDataset(X, y), DataLoader(TensorDataset(X, y), batch_size=6),
                  [(X[i:i + 5], y[i:i + 5]) for i in range(0, 23, 5)], (X[i:i + 9] for i in range(0, 23, 9))):
        np.testing.assert_allclose(ce.extract(model, source, batch_size=4).ce, ref.ce, rtol=1e-5, atol=1e-6)  # float32 batches
    from torch.utils.data import SubsetRandomSampler

    with pytest.raises(ValueError, match="The DataLoader does not read its data set in order"):
        ce.extract(model, DataLoader(TensorDataset(X, y), shuffle=True))
    with pytest.raises(ValueError, match="does not read its data set in order"):
        ce.extract(model, DataLoader(TensorDataset(X, y), sampler=SubsetRandomSampler(range(23))))


class WithProjection(nn.Module):
    """A classifier, then an auxiliary projection registered after it (as in contrastive set-ups)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 6), nn.ReLU())
        self.classifier = nn.Linear(6, 3)
        self.projection = nn.Linear(6, 2)

    def forward(self, x):
        return self.classifier(self.body(x))


def test_head_is_named_or_given_and_the_default_warns():
    torch.manual_seed(0)
    model, X = WithProjection(), torch.randn(9, 4)
    with pytest.raises(ce.UnsupportedModelError, match="not the output of its head 'projection'.*head="):
        ce.extract(model, X)  # the default head is the last nn.Linear
    by_name = ce.extract(model, X, head="classifier")
    by_module = ce.extract(model, X, head=model.classifier)
    assert by_name.ce.shape == (9, 3, 6)
    assert_invariant(by_name, atol=1e-5)
    np.testing.assert_array_equal(by_name.ce, by_module.ce)
    with pytest.raises(ce.UnsupportedModelError, match="has no module 'fc'"):
        ce.extract(model, X, head="fc")
    with pytest.raises(ce.UnsupportedModelError, match="must be a module of the WithProjection"):
        ce.extract(model, X, head=nn.Linear(6, 3))
    with pytest.raises(ce.UnsupportedModelError, match="must be an nn.Linear"):
        ce.extract(model, X, head="body")


def test_a_module_registered_after_the_default_head_is_warned_about():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.temperature = nn.Linear(1, 1)  # used for calibration elsewhere, not in forward
            self.norm = nn.LayerNorm(3)

        def forward(self, x):
            return self.fc(x)

    with pytest.warns(UserWarning, match="Taking 'temperature'.*'norm' is registered after it; pass head="):
        with pytest.raises(ce.UnsupportedModelError):
            ce.extract(Scaled(), torch.randn(5, 4))
    assert_invariant(ce.extract(Scaled(), torch.randn(5, 4), head="fc"), atol=1e-5)


@pytest.mark.parametrize("build", [lambda: MLP(5, 8, 4), lambda: build_resnet("resnet8", 4, 1)])
def test_torch_ce_equal_captums_gradient_times_input_at_the_head(build):
    """An oracle that shares no code with ours: for a plain nn.Linear head, the gradient of
    logit c with respect to the head's input is W[c], so gradient x input is CE[:, c, :]."""
    from captum.attr import LayerGradientXActivation

    torch.manual_seed(0)
    model = build().double().eval()
    x = torch.randn(6, 5).double() if isinstance(model, MLP) else torch.rand(6, 1, 32, 32).double() * 255
    r = ce.extract(model, x)
    head = extraction.final_linear(model)
    oracle = LayerGradientXActivation(model, head)
    for c in range(4):
        attr = oracle.attribute(x, target=c, attribute_to_layer_input=True)
        np.testing.assert_allclose(attr.detach().numpy().reshape(len(x), -1), r.ce[:, c, :], rtol=1e-9, atol=1e-9)


def test_multiclass_metrics_never_build_the_n_by_c_by_d_array():
    from ceimb_utils.ce import metrics, summaries

    X, y = data(n_classes=4, n=200, d=8)
    model = LogisticRegression(max_iter=500).fit(X, y)
    r = ce.extract(model, X)
    summaries.class_table(r, y, np.bincount(y))
    summaries.frequency_tables(r, y, resamples=20, permutations=3)
    assert "ce" not in r.__dict__ and r.given_ce is None  # nothing asked for the whole array
    full = ce.CEResult(r.ce, r.bias, r.features, r.weights, r.classes, r.decision)  # built on request
    assert full.ce.shape == (200, 4, 8)
    np.testing.assert_array_equal(metrics.required_ce(full, y), metrics.required_ce(r, y))
    np.testing.assert_allclose(r.scores, model.decision_function(X), rtol=1e-9, atol=1e-12)


def test_svc_metrics_read_rows_of_ce_never_built_whole():
    """An SVC's CE are as large as its kernel matrix: the metrics take the rows they need from
    features and weights, with the numbers of the whole array."""
    from ceimb_utils.ce import metrics, summaries

    X, y = data(n=300, d=8, seed=3)
    r = ce.extract(SVC().fit(X[:200], y[:200]), X)
    assert r.given_ce is None
    np.testing.assert_allclose(r.scores, r.decision, rtol=1e-9, atol=1e-12)
    whole = ce.CEResult(r.features * r.weights, r.bias, r.features, r.weights, r.classes, r.decision)
    for reading in metrics.READINGS.values():
        np.testing.assert_array_equal(metrics.required_ce(r, y, reading), metrics.required_ce(whole, y, reading))
        np.testing.assert_array_equal(metrics.class_topk_union(r, y, 10, reading),
                                      metrics.class_topk_union(whole, y, 10, reading))
    _, rho = summaries.frequency_tables(r, y, resamples=20, permutations=3)
    _, rho_whole = summaries.frequency_tables(whole, y, resamples=20, permutations=3)
    pd.testing.assert_frame_equal(rho, rho_whole)
    assert "ce" not in r.__dict__  # nothing asked for the whole array


def test_frequency_interval_is_timed_as_its_own_step_with_the_same_tables():
    """A run's record times the interval apart from the frequency table (issue 41's record):
    the timed tables equal the untimed ones, and the interval's step takes longer when it draws
    subsamples than when it draws none."""
    from ceimb_utils.ce import summaries
    from ceimb_utils.pipeline.artifacts import StepTimes

    X, y = data(n=400, d=8, seed=5)
    r = ce.extract(LogisticRegression(max_iter=500).fit(X, y), X)
    times = StepTimes()
    long, rho = summaries.frequency_tables(r, y, resamples=50, permutations=3, times=times)
    plain = summaries.frequency_tables(r, y, resamples=50, permutations=3)
    pd.testing.assert_frame_equal(long, plain[0])
    pd.testing.assert_frame_equal(rho, plain[1])
    # statuses given only after the subsamples are drawn: the interval's step did that work
    assert set(rho["ci_status"]) <= {"ok", "bias unstable", "degenerate"}
    assert set(times.wall) == {"frequency", "frequency interval"} and times.wall["frequency interval"] > 0
    none = StepTimes()
    _, rho_none = summaries.frequency_tables(r, y, resamples=0, permutations=3, times=none)
    assert (rho_none["ci_status"] == "not computed").all() and none.wall["frequency interval"] < times.wall["frequency interval"]


def test_float32_linear_models_and_plain_inputs_pass_the_decision_check():
    from scipy import sparse

    X, y = data(n_classes=3, n=200, d=30)
    X32 = (X * 1e3).astype(np.float32)  # large terms that nearly cancel: float32 rounding near 0
    model = LogisticRegression(max_iter=2000).fit(X32, y)
    assert_invariant(ce.extract(model, X32), atol=1e-2)
    small, ys = data()
    lg = LogisticRegression().fit(small, ys)
    for source in (small.tolist(), sparse.coo_matrix(small)):  # rows of these are taken for the check
        np.testing.assert_allclose(ce.extract(lg, source).scores, lg.decision_function(small), rtol=1e-9, atol=1e-9)


def test_a_layer_after_the_head_is_refused_with_the_fix():
    """A softmax after the last linear layer: its output is not the head's, so the CE would not
    add up; the message says to pass the logits (a user's review found only head= advised)."""
    model = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))
    with pytest.raises(ce.UnsupportedModelError, match="is not the output of its head '0'.*a softmax, say.*head's logits"):
        ce.extract(model, np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32))
    assert ce.extract(model[0], np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)).n_terms == 4
