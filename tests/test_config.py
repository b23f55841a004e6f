"""Profiles, overrides and their validation."""
import pytest

from ceimb_utils.config import ConfigError, check_arch, load_profile, parse_value, profile_names, resolve_dataset


def test_profiles_load():
    assert {"smoke", "quick", "paper"} <= set(profile_names())
    for name in profile_names():
        cfg = load_profile(name)
        assert cfg["profile"] == name
        for ds in cfg["datasets"]:
            resolve_dataset(cfg, ds)


def test_paper_defaults_reach_image_datasets():
    cfg = load_profile("paper")
    cifar = resolve_dataset(cfg, "cifar10-lt")
    assert (cifar["arch"], cifar["epochs"], cifar["n_max"], cifar["ratio"]) == ("resnet32", 200, 5000, 100.0)
    places = resolve_dataset(cfg, "places5")
    assert (places["arch"], places["epochs"], places["imbalance"], places["n_majority"]) == ("resnet56", 40, "step", 2)


def test_overrides_dotted_and_nested():
    cfg = load_profile("smoke", {"image.epochs": 7, "tabular": {"splits": 3}, "metrics.topk": 5})
    assert cfg["image"]["epochs"] == 7 and cfg["tabular"]["splits"] == 3 and cfg["metrics"]["topk"] == 5
    assert cfg["tabular"]["max_rows"] == 600  # untouched keys keep the profile's value


@pytest.mark.parametrize("text, value", [("5e-4", 5e-4), ("-1E3", -1000.0), ("2.0e-4", 2e-4), ("12", 12),
                                         ("resnet8", "resnet8"), ("[0, 1e-3]", [0, 1e-3]), ("e5", "e5"), ("true", True)])
def test_command_line_values_read_an_exponent_as_a_number(text, value):
    assert parse_value(text) == value and type(parse_value(text)) is type(value)
    assert load_profile("smoke", {"image.weight_decay": parse_value("5e-4")})["image"]["weight_decay"] == 5e-4


def test_dataset_overrides_win_over_profile():
    cfg = load_profile("paper", {"dataset_overrides": {"places5": {"ratio": 10}}})
    assert resolve_dataset(cfg, "places5")["ratio"] == 10


@pytest.mark.parametrize("name, overrides, match", [
    ("fast", None, "Unknown profile 'fast'; choose one of authors, paper, planted, planted-latent, quick, smoke"),
    ("smoke", {"image.epoch": 3}, "Unknown configuration key 'image.epoch'.*allowed: .*image.epochs"),
    ("smoke", {"colour": "red"}, "Unknown configuration key 'colour'"),
    ("smoke", {"tabular.methods": ["base", "smoteish"]}, "Unknown value 'smoteish' for 'tabular.methods'; allowed: base, smote"),
    ("smoke", {"image.methods": ["smote"]}, "Unknown value 'smote' for 'image.methods'"),
    ("smoke", {"tabular.models": ["rf"]}, "Unknown value 'rf'"),
    ("smoke", {"device": "tpu"}, "Unknown value 'tpu' for 'device'"),
    ("smoke", {"image.epochs": 0}, "must be positive"),
    ("smoke", {"image.epochs": "ten"}, "must be of type int"),
    ("smoke", {"tabular.test_size": 1.5}, "strictly between 0 and 1"),
    ("smoke", {"image.arch": "resnet33"}, "depth 6n\\+2"),
    ("smoke", {"image.ratio": 0.5}, "must be >= 1"),
    ("smoke", {"datasets": ["mnist"]}, "Unknown value 'mnist' for 'datasets'"),
    ("smoke", {"dataset_overrides": {"hiva": {"epochs": 3}}}, "tabular data set"),
    ("smoke", {"dataset_overrides": {"cifar10-lt": {"lr": 3}}}, "Unknown key 'lr' in dataset_overrides.cifar10-lt"),
    ("smoke", {"image.precision": "fp8"}, "Unknown value 'fp8' for 'image.precision'; allowed: fp32, bf16"),
    ("smoke", {"image.schedule": "linear"}, "Unknown value 'linear' for 'image.schedule'; allowed: step, cosine"),
    ("smoke", {"image.dtype": "float64"}, "Unknown configuration key 'image.dtype'"),
    ("smoke", {"tabular.jobs": 0}, "must be positive"),
    ("smoke", {"targets.base_balanced_accuracy": 1.2}, "strictly between 0 and 1"),
    ("smoke", {"targets.no_zero_recall": "yes"}, "must be of type bool"),
    ("smoke", {"targets.method_margin": -0.01}, "at least 0 and below 1"),
    # values an optimiser or a cross-validation would refuse only once the runs had started
    ("smoke", {"image.momentum": -1}, "'image.momentum' must be at least 0 and below 1, got -1"),
    ("smoke", {"image.momentum": 5}, "'image.momentum' must be at least 0 and below 1"),
    ("smoke", {"image.weight_decay": -1e-4}, "'image.weight_decay' must be at least 0"),
    ("smoke", {"image.warmup_epochs": -5}, "'image.warmup_epochs' must be at least 0"),
    ("smoke", {"image.head_warmup_epochs": -1}, "'image.head_warmup_epochs' must be at least 0"),
    ("smoke", {"image.la_tau": -1}, "'image.la_tau' must be at least 0"),
    ("smoke", {"tabular.l1_folds": 1}, "'tabular.l1_folds' must be at least 2"),
    ("smoke", {"datasets": "sylva"}, r"'datasets' must be of type list \(a list: \[sylva\]\), got 'sylva'"),
])
def test_bad_configuration_is_refused(name, overrides, match):
    with pytest.raises(ConfigError, match=match):
        load_profile(name, overrides)


def test_precision_is_declared_per_profile_and_enters_the_run_key():
    from ceimb_utils.pipeline.cache import model_key
    from ceimb_utils.pipeline.runs import run_configs

    assert [load_profile(p)["image"]["precision"] for p in ("smoke", "quick", "paper")] == ["fp64", "fp32", "auto"]
    quick = run_configs(resolve_dataset(load_profile("quick"), "fashion-lt"))[0]
    auto = run_configs(resolve_dataset(load_profile("quick", {"image.precision": "auto"}), "fashion-lt"))[0]
    assert quick["train"]["precision"] == "fp32" and model_key(quick) != model_key(auto)


def test_the_schedule_enters_the_run_key():
    from ceimb_utils.pipeline.cache import model_key
    from ceimb_utils.pipeline.runs import run_configs

    step, cosine = (run_configs(resolve_dataset(load_profile("quick", {"image.schedule": s}), "fashion-lt"))[0] for s in ("step", "cosine"))
    assert (step["train"]["schedule"], cosine["train"]["schedule"]) == ("step", "cosine")
    assert model_key(step) != model_key(cosine)


def test_tabular_runs_take_their_own_jobs_and_threads():
    from ceimb_utils.pipeline.runs import run_configs

    paper = load_profile("paper")
    assert (paper["tabular"]["jobs"], paper["tabular"]["threads"], paper["threads"]) == (2, 1, 2)
    assert {rc["threads"] for rc in run_configs(resolve_dataset(paper, "coil_2000"))} == {1}
    assert {rc["threads"] for rc in run_configs(resolve_dataset(load_profile("smoke"), "sylva"))} == {load_profile("smoke")["threads"]}


def test_impossible_imbalance_is_refused_before_work():
    cfg = load_profile("smoke", {"image.ratio": 500})
    with pytest.raises(ConfigError, match="leaves the rarest class with no image"):
        resolve_dataset(cfg, "fashion-lt")


def test_check_arch():
    assert check_arch("resnet32") == 5 and check_arch("resnet56") == 9 and check_arch("resnet8") == 1
    with pytest.raises(ConfigError):
        check_arch("vgg16")


@pytest.mark.parametrize("profile", ["quick", "paper"])
def test_image_schedule_has_a_warm_up_and_its_decays(profile):
    """A schedule means something only if the warm-up ramps over several epochs and the rate
    falls before the last epoch: the paper's two decays one after the other, or a cosine."""
    from ceimb_utils.pipeline.image_runs import schedule_of

    section = resolve_dataset(load_profile(profile), "fashion-lt" if profile == "quick" else "cifar10-lt")
    schedule = schedule_of(section)
    lrs = [schedule.lr_at(e) for e in range(section["epochs"])]
    assert schedule.warmup >= 2
    assert lrs[0] < lrs[schedule.warmup] == section["lr"]
    if schedule.shape == "step":
        first, second = schedule.decays
        assert schedule.warmup < first < second < section["epochs"]
        assert len(set(lrs[first:])) == 2  # x0.01, then x0.0001
    else:
        assert all(a > b for a, b in zip(lrs[schedule.warmup:], lrs[schedule.warmup + 1:]))
        assert lrs[-1] < 0.05 * section["lr"]


# The run configs of the built-in profiles (the dicts that enter the cache keys, device cpu), as
# the code before the resolved configuration (issue 39) made them: count and digest of the list.
# A refactoring of how a data set's configuration is resolved must not move a single key.
PINNED_RUN_CONFIGS = {
    "paper/cifar10-lt": (24, "971eeeb6d45236fb"),
    "paper/places5": (24, "5e0962a322b5abb8"),
    "paper/inat5": (24, "5d7308272493325d"),
    "paper/ozone_level": (55, "05e528a9f0458e88"),
    "paper/scene": (55, "40e543a2fb5012ad"),
    "paper/coil_2000": (55, "39164b7d210fcd77"),
    "paper/thyroid_sick": (55, "2bc6a0d7b391c459"),
    "paper/us_crime": (55, "9a74e875fbbc62bd"),
    "planted/sparse-imb": (18, "1986075cb903f579"),
    "planted/sparse-bal": (18, "4dcde7b84d825401"),
    "planted/dense-imb": (18, "e2afd7f6e661a815"),
    "planted/dense-bal": (18, "ba7beafc4e921eb5"),
    "planted/invariant-bal": (18, "a776f35140217037"),
    "planted/combinations-bal": (18, "2e2033a36bfe508d"),
    "planted-latent/frequency-imb": (3, "ff85f3de96ff249b"),
    "planted-latent/frequency-magnitude-imb": (3, "d082434933726487"),
    "planted-latent/opposite-imb": (3, "96b734fdeafe728b"),
    "planted-latent/frequency-shared-imb": (3, "26fcd4d5d55fddac"),
    "planted-latent/minority-shared-imb": (3, "3ffdc8e571675b2b"),
    "planted-latent/shared-relation-imb": (3, "bfc112d8d274db66"),
    "quick/hiva": (33, "0e866cf3ae32acd2"),
    "quick/sylva": (33, "60a2f2093ebb098d"),
    "quick/coil_2000": (33, "6a272a7b9acbf3d4"),
    "quick/fashion-lt": (15, "d80d4a7874ef8bad"),
    "smoke/sylva": (22, "d3595d33b42069dd"),
    "smoke/fashion-lt": (5, "be47f1950549f1d5"),
}


def _run_config_digests() -> dict:
    import hashlib
    import json

    from ceimb_utils.pipeline.runs import run_configs

    out = {}
    for profile in sorted({key.split("/")[0] for key in PINNED_RUN_CONFIGS}):
        cfg = load_profile(profile, {"device": "cpu"})
        for ds in cfg["datasets"]:
            configs = run_configs(resolve_dataset(cfg, ds))
            out[f"{profile}/{ds}"] = (len(configs), hashlib.sha256(json.dumps(configs, sort_keys=True).encode()).hexdigest()[:16])
    return out


def test_the_run_configs_of_the_built_in_profiles_are_what_they_were():
    assert _run_config_digests() == PINNED_RUN_CONFIGS


def test_a_resolved_configuration_is_read_only_and_complete():
    import dataclasses

    settings = resolve_dataset(load_profile("smoke"), "fashion-lt")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.name = "other"
    with pytest.raises(TypeError):
        settings.section["n_max"] = 5
    with pytest.raises(AttributeError):
        settings.section["seeds"].append(1)
    copy = settings.plain()
    copy["n_max"], copy["seeds"] = 5, [1, 2]
    assert settings["n_max"] == 100 and settings.repeats == (0,)  # a copy changes nothing
    assert settings.methods == ["base", "remix", "eos", "dsm", "tau_norm"] and settings.threads == 2
    sylva = resolve_dataset(load_profile("paper"), "coil_2000")
    assert sylva.repeats == tuple(range(5)) and sylva.threads == 1  # tabular.threads over the profile's
