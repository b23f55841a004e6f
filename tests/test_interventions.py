"""Image interventions: their losses, the heads they train or rescale, and their CE."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ceimb_utils import ce, methods
from ceimb_utils.config import ConfigError, load_profile, resolve_dataset
from ceimb_utils.models import losses, tau_norm
from ceimb_utils.models.resnet import NormedLinear, build_resnet
from ceimb_utils.pipeline.runs import Context, dependencies, execute, run_configs

COUNTS = np.array([500, 120, 30, 5])


def batch(n=64, classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, classes, generator=g, dtype=torch.float64), torch.randint(0, classes, (n,), generator=g)


def test_class_balanced_weights_and_ldam_margins():
    w = losses.class_balanced_weights(COUNTS, 0.9999)
    assert w.sum() == pytest.approx(len(COUNTS)) and (np.diff(w) > 0).all()  # rarer, heavier
    m = losses.ldam_margins(COUNTS, 0.5)
    assert m.max() == pytest.approx(0.5) == m[-1] and (np.diff(m) > 0).all()
    np.testing.assert_allclose(m[0] / m[-1], (5 / 500) ** 0.25)


def test_objectives_are_the_published_losses():
    logits, y = batch()
    settings = {"cb_beta": 0.9999, "la_tau": 1.0, "ldam_max_margin": 0.5, "ldam_s": 30.0, "drw_from": 0.8}
    plain = F.cross_entropy(logits, y)
    assert torch.equal(losses.objective("ce", COUNTS, settings, 10)(logits, y, 0), plain)
    la = losses.objective("logit_adjust", COUNTS, settings, 10)(logits, y, 0)
    prior = torch.as_tensor(COUNTS / COUNTS.sum(), dtype=torch.float64)
    assert torch.allclose(la, F.cross_entropy(logits + prior.log(), y))
    cb = losses.objective("cb_ce", COUNTS, settings, 10)(logits, y, 0)
    weights = torch.as_tensor(losses.class_balanced_weights(COUNTS, 0.9999))
    assert torch.allclose(cb, F.cross_entropy(logits, y, weight=weights))
    ldam = losses.objective("ldam_drw", COUNTS, settings, 10)
    assert ldam.reweight_from == 8
    margins = torch.as_tensor(losses.ldam_margins(COUNTS, 0.5))
    shifted = 30.0 * (logits - F.one_hot(y, 4) * margins[y][:, None])
    assert torch.allclose(ldam(logits, y, 7), F.cross_entropy(shifted, y))  # before re-weighting
    assert torch.allclose(ldam(logits, y, 8), F.cross_entropy(shifted, y, weight=weights))  # deferred weights
    with pytest.raises(ValueError, match="Unknown objective 'focal'"):
        losses.objective("focal", COUNTS, settings, 10)


def test_normed_head_ce_sum_to_the_cosine_logits():
    torch.manual_seed(0)
    net = build_resnet("resnet8", 4, 1, seed=3, head="normed").double().eval()
    assert isinstance(net.fc, NormedLinear) and net.fc.bias is None
    x = torch.randint(0, 256, (12, 1, 28, 28), dtype=torch.uint8).numpy()
    result = ce.extract(net, x)
    logits = net(torch.as_tensor(x)).detach().numpy()
    np.testing.assert_allclose(result.ce.sum(-1) + result.bias, logits, atol=1e-12)
    assert np.abs(logits).max() <= 1 + 1e-12  # cosines
    np.testing.assert_allclose(np.linalg.norm(result.features, axis=1), 1.0)


def test_tau_normalisation_balances_a_head_biased_by_its_norms():
    rng = np.random.default_rng(0)
    directions = np.eye(3, 8)
    y = np.repeat([0, 1, 2], 50)
    feats = directions[y] + 0.6 * rng.normal(size=(150, 8))
    weight = directions * np.array([[6.0], [1.0], [0.5]])  # the head class's weight is long
    tau, scores = tau_norm.choose_tau(feats, y, weight, [0.0, 0.5, 1.0])
    assert tau > 0 and scores[tau] > scores[0.0]
    head = tau_norm.tau_head(weight, 1.0, dtype=torch.float64)
    np.testing.assert_allclose(np.linalg.norm(head.weight.detach().numpy(), axis=1), 1.0)
    assert head.bias is None
    np.testing.assert_array_equal(tau_norm.normalised_weight(weight, 0.0), weight)
    rows = tau_norm.balanced_subset(np.array([0] * 10 + [1] * 3), 4, seed=0)
    assert np.bincount(np.array([0] * 10 + [1] * 3)[rows]).tolist() == [4, 3]


def test_config_checks_intervention_settings():
    with pytest.raises(ConfigError, match="'image.cb_beta' must lie strictly between 0 and 1"):
        load_profile("smoke", {"image.cb_beta": 1.0})
    with pytest.raises(ConfigError, match="'image.tau_grid' must list numbers >= 0"):
        load_profile("smoke", {"image.tau_grid": [-1.0]})
    with pytest.raises(ConfigError, match="Unknown value 'l1' for 'image.methods'"):
        load_profile("smoke", {"image.methods": ["l1"]})


def test_every_image_intervention_runs_and_keeps_the_ce_invariant():
    wanted = ["base", "cb_ce", "logit_adjust", "ldam_drw", "tau_norm"]
    cfg = load_profile("smoke", {"image.methods": wanted, "image.seeds": [0]})
    grid = run_configs(resolve_dataset(cfg, "fashion-lt"))
    assert [rc["method"] for rc in grid] == wanted
    assert [d[0]["method"] for rc in grid for d in [dependencies(rc)] if d] == ["base"]  # tau_norm re-heads base
    records = {rc["method"]: execute(rc, Context(progress=False)).record for rc in grid}
    for method, record in records.items():
        assert record["invariant_max_error"] < 1e-9, method
        assert methods.METHODS[method].family in ("baseline", "intervention")
    assert records["tau_norm"]["tau"] in cfg["image"]["tau_grid"]
    assert records["tau_norm"]["tau_validation"]["rows"] <= 10 * cfg["image"]["tau_val_per_class"]
    ldam = torch.load(execute(grid[3], Context(progress=False)).model_file("model.pt"), weights_only=True)
    assert "fc.bias" not in ldam  # the cosine head
    assert records["ldam_drw"]["losses"] != records["cb_ce"]["losses"] != records["base"]["losses"]
