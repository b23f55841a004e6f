"""Over-sampling and training: ReMix, tabular fits, the ResNet, augmentation, EOS/DSM, resume."""
import numpy as np
import pytest
import torch

from ceimb_utils.models import train_cnn
from ceimb_utils.models.latent_oversampling import dsm, eos, train_head
from ceimb_utils.models.remix import remix_indices, remix_tabular
from ceimb_utils.models.resnet import build_resnet
from ceimb_utils.models.tabular import fit_tabular, resample
from ceimb_utils.models.train_cnn import Schedule, augment, train_network


# ---------------------------------------------------------------- ReMix
def test_remix_indices_balance_the_batch():
    labels = np.array([0] * 120 + [1] * 8)
    rng = np.random.default_rng(0)
    picks = np.concatenate([labels[remix_indices(labels, rng)[0]] for _ in range(200)])
    share = picks.mean()
    assert 0.45 < share < 0.55  # balanced in expectation although 1 is 6% of the batch
    first, second = remix_indices(labels, rng)
    assert sorted(first) == sorted(second)  # partners are a shuffle of the same draw


def test_remix_tabular_emits_weighted_pairs():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y = (np.arange(300) < 20).astype(int)
    Xm, ym, w = remix_tabular(X, y, alpha=0.1, batch_size=64, rng=rng)
    assert len(Xm) == len(ym) == len(w) == 600
    # each mixed row appears twice in a batch block, with weights lambda and 1 - lambda
    blocks = np.cumsum([0] + [2 * min(64, 300 - s) for s in range(0, 300, 64)])
    for start, stop in zip(blocks[:-1], blocks[1:]):
        half = (stop - start) // 2
        np.testing.assert_array_equal(Xm[start:start + half], Xm[start + half:stop])
        np.testing.assert_allclose(w[start:start + half] + w[start + half:stop], 1.0)
    assert ((w >= 0) & (w <= 1)).all()


# ---------------------------------------------------------------- tabular
def toy_tabular(n=400, minority=30, seed=0):
    rng = np.random.default_rng(seed)
    y = (np.arange(n) < minority).astype(int)
    X = rng.normal(size=(n, 5)) * 10 + 50 + y[:, None] * 20
    return X, y


@pytest.mark.parametrize("method", ["base", "smote", "adasyn", "remix"])
@pytest.mark.parametrize("model", ["lg", "svm"])
def test_fit_tabular(model, method):
    X, y = toy_tabular()
    fit = fit_tabular(model, method, X, y, seed=0)
    scaler = fit.model[0]
    np.testing.assert_allclose(scaler.mean_, X.mean(0))  # scaled on the training split before over-sampling
    if method in ("smote", "adasyn"):
        assert fit.n_fit_rows > len(y) and fit.fit_class_counts[1] == pytest.approx(fit.fit_class_counts[0], rel=0.1)
    if method == "remix":
        assert fit.n_fit_rows == 2 * len(y)
        assert sum(fit.fit_class_counts) == pytest.approx(len(y))
    from sklearn.metrics import balanced_accuracy_score

    assert balanced_accuracy_score(y, fit.model.predict(X)) > 0.85


def test_convergence_warnings_are_recorded():
    X, y = toy_tabular()
    fit = fit_tabular("lg", "base", X, y, seed=0, lg_max_iter=1)
    assert fit.warnings and "iteration" in fit.warnings[0].lower()


def test_smote_with_a_tiny_minority():
    X, y = toy_tabular(minority=3)
    Xr, yr, _ = resample("smote", X, y, seed=0)  # 2 neighbours instead of 5
    assert (yr == 1).sum() == (yr == 0).sum()
    with pytest.raises(ValueError, match="at least 2 minority rows"):
        resample("smote", X, (np.arange(len(y)) < 1).astype(int), seed=0)


# ---------------------------------------------------------------- ResNet and augmentation
def test_resnet_sizes():
    model = build_resnet("resnet32", 10, 3)
    n_params = sum(p.numel() for p in model.parameters())
    assert 460_000 < n_params < 470_000  # He et al.: 0.46M
    assert len(model.layers) == 15
    x = torch.zeros(2, 3, 32, 32, dtype=torch.uint8)
    assert model(x).shape == (2, 10) and model.features(x).shape == (2, 64)
    assert sum(p.numel() for p in build_resnet("resnet56", 10, 3).parameters()) > 850_000


def test_augment_is_a_shifted_and_flipped_crop():
    images = torch.arange(2 * 3 * 32 * 32, dtype=torch.float32).reshape(2, 3, 32, 32)
    out = augment(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    for i in range(2):
        found = any(torch.equal(out[i], cand[:, dy:dy + 32, dx:dx + 32])
                    for cand in (padded[i], padded[i].flip(2)) for dy in range(9) for dx in range(9))
        assert found


def test_schedule_scales_with_epochs():
    full = Schedule(200)
    assert full.warmup == 5 and full.decays == (160, 180)
    assert full.lr_at(0) == pytest.approx(0.02) and full.lr_at(100) == 0.1
    assert full.lr_at(170) == pytest.approx(1e-3) and full.lr_at(190) == pytest.approx(1e-5)
    short = Schedule(20)
    assert short.warmup == 1 and short.decays == (16, 18)


def test_cosine_schedule_falls_from_the_full_rate_after_warm_up():
    cosine = Schedule(12, 0.1, 25, shape="cosine")
    lrs = [cosine.lr_at(e) for e in range(12)]
    assert cosine.warmup == 2 and lrs[0] == pytest.approx(0.05) and lrs[2] == pytest.approx(0.1)
    assert all(a > b for a, b in zip(lrs[2:], lrs[3:]))  # strictly falling, never reaching 0
    assert 0 < lrs[-1] < 0.01 and lrs[7] == pytest.approx(0.05)  # halfway through the cosine
    with pytest.raises(ValueError, match="Unknown schedule"):
        Schedule(12, shape="linear")


def tiny_images(n=48, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.integers(0, 60, size=(n, 1, 32, 32)).astype(np.uint8)
    x[:, :, 8:24, 8:24] += (y * 60).astype(np.uint8)[:, None, None, None]
    return x, y


def train_tiny(checkpoint=None, epochs=3, remix=None, fast=False):
    torch.manual_seed(0)
    model = build_resnet("resnet8", 3, 1)
    x, y = tiny_images()
    log = train_network(model, x, y, schedule=Schedule(epochs, 0.05, 5), batch_size=16, momentum=0.9,
                        weight_decay=2e-4, seed=0, device=torch.device("cpu"), fast=fast, remix_alpha=remix,
                        checkpoint=checkpoint)
    return model, log


@pytest.mark.parametrize("remix", [None, 0.2])
def test_resume_after_a_kill_gives_the_same_model(tmp_path, monkeypatch, remix):
    reference, ref_log = train_tiny(remix=remix)
    checkpoint = tmp_path / "run.pt"
    calls = {"n": 0}
    original = train_cnn._save

    def save_then_die(*args, **kwargs):
        original(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # killed after the second epoch

    monkeypatch.setattr(train_cnn, "_save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_tiny(checkpoint, remix=remix)
    monkeypatch.setattr(train_cnn, "_save", original)
    resumed, log = train_tiny(checkpoint, remix=remix)
    assert log.resumed_at == 2 and len(log.losses) == 3
    for a, b in zip(reference.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b)
    assert log.losses == pytest.approx(ref_log.losses)


def test_damaged_checkpoint_starts_over(tmp_path):
    checkpoint = tmp_path / "run.pt"
    checkpoint.write_bytes(b"not a checkpoint")
    _, log = train_tiny(checkpoint, epochs=1)
    assert log.resumed_at == 0 and len(log.losses) == 1


def test_fast_path_trains():
    _, log = train_tiny(epochs=4, fast=True)
    assert log.losses[-1] < log.losses[0]


def test_precision_is_a_setting_and_auto_follows_the_hardware(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(train_cnn, "cpu_has_bf16", lambda: False)
    assert train_cnn.resolve_precision("auto", cpu) == "fp32"
    assert train_cnn.resolve_precision("auto", cuda) == "fp16"
    monkeypatch.setattr(train_cnn, "cpu_has_bf16", lambda: True)
    assert train_cnn.resolve_precision("auto", cpu) == "bf16"
    assert train_cnn.resolve_precision("fp32", cpu) == "fp32"  # declared: the same on every CPU
    chosen = train_cnn.Precision.choose(cpu, True, "bf16")
    assert (chosen.name, chosen.autocast_dtype, chosen.channels_last) == ("bf16", torch.bfloat16, True)
    assert train_cnn.Precision.choose(cpu, False, "fp64").dtype == torch.float64
    assert train_cnn.Precision.choose(cpu, False, "fp32").describe() == "fp32, NCHW"
    with pytest.raises(ValueError, match="Unknown precision 'fp8'"):
        train_cnn.resolve_precision("fp8", cpu)
    with pytest.raises(ValueError, match="fp16 training needs CUDA"):
        train_cnn.resolve_precision("fp16", cpu)


def test_a_model_in_another_dtype_is_refused_before_training():
    x, y = tiny_images()
    with pytest.raises(ValueError, match="cannot be trained in fp64"):
        train_network(build_resnet("resnet8", 3, 1), x, y, schedule=Schedule(1, 0.05, 5), batch_size=16,
                      momentum=0.9, weight_decay=2e-4, seed=0, device=torch.device("cpu"), precision="fp64")


# ---------------------------------------------------------------- EOS and DSM
def clusters(seed=0):
    rng = np.random.default_rng(seed)
    counts = [60, 20, 6]
    centres = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    X = np.concatenate([rng.normal(c, 1.0, size=(n, 2)) for c, n in zip(centres, counts)])
    y = np.repeat(np.arange(3), counts)
    return X, y


def test_eos_tops_up_toward_enemies():
    X, y = clusters()
    aug = eos(X, y, k=5, rng=np.random.default_rng(0))
    assert np.bincount(aug.labels).tolist() == [60, 60, 60] and aug.n_synthetic.tolist() == [0, 40, 54]
    new, labels = aug.features[len(y):], aug.labels[len(y):]
    # every synthetic point lies on a segment from a base of its class to an enemy neighbour
    from sklearn.neighbors import NearestNeighbors

    nbrs = NearestNeighbors(n_neighbors=6).fit(X).kneighbors(X, return_distance=False)[:, 1:]
    for point, c in zip(new[:30], labels[:30]):
        ok = False
        for base in np.flatnonzero(y == c):
            for enemy in nbrs[base][y[nbrs[base]] != c]:
                seg = X[enemy] - X[base]
                t = np.dot(point - X[base], seg) / np.dot(seg, seg)
                if 0 <= t <= 1 and np.allclose(X[base] + t * seg, point, atol=1e-9):
                    ok = True
        assert ok


def test_eos_class_without_enemy_is_reported_not_crashed():
    X = np.concatenate([np.zeros((10, 2)), 100 + np.random.default_rng(0).normal(size=(3, 2))])
    y = np.array([0] * 10 + [1] * 3)
    aug = eos(X, y, k=2, rng=np.random.default_rng(0), class_names=["a", "b"])
    assert aug.n_synthetic.tolist() == [0, 0] and "b: no instance" in aug.skipped[0]


def test_dsm_stays_within_class_and_handles_singletons():
    X, y = clusters()
    aug = dsm(X, y, k=5, seed=0)
    assert np.bincount(aug.labels).tolist() == [60, 60, 60]
    X1 = np.concatenate([X, [[9.0, 9.0]]])
    y1 = np.concatenate([y, [3]])
    aug1 = dsm(X1, y1, k=5, seed=0)
    assert aug1.n_synthetic[3] == 0 and aug1.skipped


def test_train_head_learns_separable_features():
    X, y = clusters()
    head = train_head(X.astype(np.float32), y, 3, epochs=10, lr=0.1, warmup_epochs=5, momentum=0.9,
                      weight_decay=2e-4, batch_size=32, seed=0, device=torch.device("cpu"))
    pred = head(torch.as_tensor(X, dtype=torch.float32)).argmax(1).numpy()
    assert (pred == y).mean() > 0.8


def test_bench_prints_one_json_line():
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "ceimb_utils.models.bench", "train", "--model", "resnet8", "--batch", "16",
                           "--steps", "2", "--warmup", "1", "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert row["images_per_s"] > 0 and row["steps"] == 2 and row["model"] == "resnet8"
    bad = subprocess.run([sys.executable, "-m", "ceimb_utils.models.bench", "train", "--model", "resnet9"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "depth 6n+2" in bad.stderr


def test_a_run_names_the_cpu_kernels_it_was_built_under(monkeypatch):
    from ceimb_utils.models.device import cpu_kernels

    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert cpu_kernels() == f"ATen {torch.backends.cpu.get_cpu_capability()}, oneDNN AVX2"
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    assert cpu_kernels().endswith("oneDNN default")


def test_verdict_stability_reuses_only_runs_built_under_the_kernels_it_compares(tmp_path, monkeypatch):
    import importlib
    import json
    import sys

    from ceimb_utils import paths
    from ceimb_utils.models.device import cpu_kernels

    monkeypatch.syspath_prepend(str(paths.ROOT / "benchmarks"))
    stability = importlib.import_module("verdict_stability")
    # other kernels than this process's: under the AVX2 back-end (a CPU without AVX-512, or the
    # budgets' timing) "ATen AVX2, oneDNN AVX2" are this process's own
    other = next(k for k in ("ATen AVX2, oneDNN AVX2", "ATen AVX512, oneDNN default") if k != cpu_kernels())
    for name, kernels in (("a", cpu_kernels()), ("b", other), ("c", None)):
        run = tmp_path / "models" / "fashion-lt" / name
        run.mkdir(parents=True)
        (run / "record.json").write_text(json.dumps({"cpu_kernels": kernels} if kernels else {}))
    assert stability.built_here(tmp_path, ["fashion-lt"]) == [f"b: {other}", "c: not recorded"]
    assert stability.built_here(tmp_path, ["other"]) == []
    sys.modules.pop("verdict_stability", None)
