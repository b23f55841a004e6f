"""The scikit-learn example of the README's "Use it on your own models", run by tests/test_core_install.py
in a venv with the core dependencies alone, at their declared minimum versions."""
import importlib.util
import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ceimb_utils.ce import extract, metrics, summaries

X, y = make_classification(n_samples=600, n_features=12, weights=[0.9], random_state=0)
labels = np.where(y == 1, "rare", "common").astype(object)
for model in (make_pipeline(StandardScaler(), LogisticRegression()), SVC(kernel="rbf")):
    model.fit(X, labels)
    result = extract(model, X)
    assert np.allclose(result.ce.sum(-1) + result.bias, model.decision_function(X))
    k = metrics.required_ce(result, labels)
    table = summaries.class_table(result, labels, np.unique(labels, return_counts=True)[1])
    print(type(model).__name__, int((k >= 0).sum()), table["required_pct"].round(1).tolist())
missing = [m for m in ("torch", "yaml", "matplotlib", "jupyter_book", "imblearn") if importlib.util.find_spec(m)]
assert not missing, missing
print("ok")
