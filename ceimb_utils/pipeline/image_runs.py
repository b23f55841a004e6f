"""Image runs: train a CIFAR ResNet (base, ReMix) or re-head a trained base network (EOS, DSM,
tau-norm) in the model stage; extract its CE and tables in the analysis stage."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from .. import ce as ce_module
from ..ce import latent as latent_reading
from ..config import ConfigError
from ..data.images import ImageData, load_images
from ..datasets import IMAGE_KEYS, NETWORK_KEYS
from ..files import file_sha256
from ..methods import METHODS, grid_methods
from ..models import authors, tau_norm
from ..models.device import cpu_kernels, describe, resolve_device
from ..models.latent_oversampling import dsm, eos, train_head
from ..models.losses import objective
from ..models.resnet import build_resnet
from ..models.train_cnn import Precision, Schedule, train_network
from ..seeding import seed_everything
from .artifacts import StepTimes, write_ce_artifacts
from .cache import RunWriter, model_key
from .records import class_count_fields, neighbour_fields

TRAIN_KEYS = ("epochs", "batch_size", "lr", "momentum", "weight_decay", "warmup_epochs", "schedule", "fast", "precision")


def image_run_config(common: Mapping[str, Any], section: Mapping[str, Any], method: str, seed: int,
                     threads: int, device: str) -> dict:
    data = {k: section[k] for k in IMAGE_KEYS if k not in NETWORK_KEYS}
    train = {k: section[k] for k in TRAIN_KEYS}
    spec = METHODS[method]
    rc = {**common, "model": section["arch"], "method": method, "seed": int(seed), "data": data,
          "train": train, "eval_batch": section["eval_batch"], "threads": threads, "device": device}
    if spec.rehead:  # the head's settings; the network's are the base run's
        rc["head"] = {k: section[k] for k in spec.keys}
    else:
        train.update({k: section[k] for k in spec.keys if k in section})
    return rc


def checkpoint_run_configs(common: Mapping[str, Any], section: Mapping[str, Any], dataset: str, threads: int,
                           device: str) -> list[dict]:
    """One run per checkpoint of the section's folder of trained networks (``checkpoints``) among
    the methods and seeds asked for: evaluated, not trained. The file's SHA-256 is part of the
    run key, so a replaced file is a new run."""
    layout = section["checkpoint_layout"]
    found = authors.find_checkpoints(section["checkpoints"], layout)
    out = []
    for (method, seed), ckpt in found.items():
        if method not in grid_methods(section) or seed not in section["seeds"]:
            continue
        rc = image_run_config(common, section, method, seed, threads, device)
        rc.pop("head", None)
        rc["train"] = {"precision": "fp32"}  # nothing is trained; evaluated in float32
        rc["checkpoint"] = {"folder": str(ckpt.path.parent), "file": ckpt.path.name, "sha256": file_sha256(ckpt.path),
                            "selection": ckpt.selection, "layout": layout, "authors": ckpt.authors}
        out.append(rc)
    if not out:
        have = ", ".join(f"{m} seed {s}" for m, s in found)
        raise ConfigError(f"No checkpoint of {dataset!r} in {section['checkpoints']} is among the methods "
                          f"{grid_methods(section)} and seeds {list(section['seeds'])} asked for; there are: {have}.")
    return out


def base_config_of(rc: Mapping[str, Any]) -> dict:
    """The base run whose network an EOS / DSM run re-heads."""
    base = {k: v for k, v in rc.items() if k != "head"}
    base["method"] = "base"
    return base


def _channel_stats(images: np.ndarray) -> tuple[list[float], list[float]]:
    scaled = images.astype(np.float64) / 255
    return scaled.mean(axis=(0, 2, 3)).tolist(), scaled.std(axis=(0, 2, 3)).tolist()


def build_model(rc: Mapping[str, Any], data: ImageData) -> torch.nn.Module:
    mean, std = _channel_stats(data.train_x)
    model = build_resnet(rc["model"], len(data.class_names), data.train_x.shape[1], mean, std, rc["seed"],
                         head=METHODS[rc["method"]].head)
    return model.to(model_dtype(rc["train"]["precision"]))


def model_dtype(precision: str) -> torch.dtype:
    """The parameters' dtype: float64 for fp64, float32 otherwise (autocast computes in bf16 / fp16)."""
    return torch.float64 if precision == "fp64" else torch.float32


def train_image(rc: Mapping[str, Any], context, writer: RunWriter, train_model) -> dict:
    """The model stage: train, re-head or load the run's network and store it (``model.pt``)
    with its training record; ``train_model`` gives a finished model run (the base network of
    a re-head)."""
    seed_everything(rc["seed"], threads=rc["threads"])
    device = resolve_device(rc["device"])
    data = load_images(rc["dataset"], rc["data"], rc["seed"], context.data_path, context.allow_download)
    record: dict[str, Any] = {"device": device.type, "device_name": describe(device),
                              "cpu_kernels": cpu_kernels() if device.type == "cpu" else None,
                              **class_count_fields(data.train_y, data.test_y, len(data.class_names)),
                              "n_train": int(len(data.train_y)),
                              "n_test": int(len(data.test_y)), "data_source": data.source,
                              "class_names": data.class_names}
    started = time.perf_counter()
    trains = "checkpoint" not in rc and not METHODS[rc["method"]].rehead
    if "checkpoint" in rc:  # a network brought from a file: nothing to train
        model = published_model(rc, len(data.class_names), data.train_x.shape[1])
        ckpt = rc["checkpoint"]
        record.update(precision="fp32, evaluation only", model_selection=(
            f"the authors' checkpoint {ckpt['file']}, chosen by them as the {ckpt['selection']}" if ckpt["authors"]
            else f"the checkpoint {ckpt['file']} from {ckpt['folder']} (how it was chosen is its trainer's)"))
    else:
        model = build_model(rc, data)
        used = Precision.choose(device, rc["train"]["fast"], rc["train"]["precision"])
        record.update(precision=used.describe(), precision_used=used.name,
                      model_selection="the last epoch (no selection on the test set)")
    if trains:
        checkpoint = context.checkpoint_dir / f"{model_key(rc)}.pt"
        log = fit_network(rc, model, data, device, checkpoint)
        record.update(losses=log.losses, lrs=log.lrs, resumed_at_epoch=log.resumed_at,
                      epoch_seconds=float(np.mean(log.epoch_seconds)) if log.epoch_seconds else None)
    elif "checkpoint" not in rc:  # EOS, DSM, tau-norm: a new head on the trained base network
        base = train_model(base_config_of(rc), context)
        model.load_state_dict(torch.load(base.file("model.pt"), map_location="cpu", weights_only=True))
        model.to(device)
        record.update(_rehead(rc, model, data, device), base_model=str(base.path.name))
    record["train_seconds"] = round(time.perf_counter() - started, 3)
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, writer.file("model.pt"))
    if trains:
        checkpoint.unlink(missing_ok=True)  # the finished model supersedes it
    return record


def schedule_of(train: Mapping[str, Any]) -> Schedule:
    """The learning-rate schedule of a run's (or an image section's) training settings."""
    return Schedule(train["epochs"], train["lr"], train["warmup_epochs"], shape=train["schedule"])


def fit_network(rc: Mapping[str, Any], model: torch.nn.Module, data: ImageData, device: torch.device,
                checkpoint: Path | None = None):
    """Train ``model`` on ``data``'s training images as run ``rc`` says (its method's loss or ReMix)."""
    train = rc["train"]
    return train_network(
        model, data.train_x, data.train_y, schedule=schedule_of(train),
        batch_size=train["batch_size"], momentum=train["momentum"], weight_decay=train["weight_decay"],
        seed=rc["seed"], device=device, fast=train["fast"], precision=train["precision"],
        remix_alpha=train.get("remix_alpha"), checkpoint=checkpoint,
        desc=f"{rc['dataset']} {rc['method']} seed {rc['seed']}",
        objective=objective(METHODS[rc["method"]].objective, data.train_counts, train, train["epochs"]))


def restore_image_model(rc: Mapping[str, Any], context, data: ImageData, model_run) -> torch.nn.Module:
    """The network a model run stored, rebuilt for evaluation."""
    state = torch.load(model_run.file("model.pt"), map_location="cpu", weights_only=True)
    if "checkpoint" in rc:
        model = published_model(rc, len(data.class_names), data.train_x.shape[1])
    else:
        model = build_model(rc, data)
    if "fc.weight" in state and "fc.bias" not in state:  # tau-norm's head has no bias
        model.fc = torch.nn.Linear(model.fc.in_features, model.fc.out_features, bias=False).to(model.fc.weight.dtype)
    model.load_state_dict(state)
    return model


def analyse_image(rc: Mapping[str, Any], context, writer: RunWriter, model_run) -> dict:
    """The analysis stage: the stored network's CE on test and training images, and their tables."""
    seed_everything(rc["seed"], threads=rc["threads"])
    device = resolve_device(rc["device"])
    data = load_images(rc["dataset"], rc["data"], rc["seed"], context.data_path, context.allow_download)
    model = restore_image_model(rc, context, data, model_run).to(device).eval()
    times = StepTimes()
    n_classes = len(data.class_names)
    with times("extraction"):
        test = ce_module.extract(model, data.test_x, batch_size=rc["eval_batch"])
        # The latent reading before pooling (methods#latent-reading): the maps of the stage the
        # network pools, counted per class and channel in the pass that extracts the training CE.
        stage, stage_name, missing = latent_reading.find_pooled_stage(model, data.train_x[:2])
        prepool = latent_reading.PrePoolCounts(data.train_y, n_classes) if stage is not None else None
        train_ce = ce_module.extract(model, data.train_x, batch_size=rc["eval_batch"],
                                     hooks=[(stage, prepool)] if stage is not None else ())
    with times("latent"):
        latent = {"pooled": latent_reading.feature_counts(train_ce.features, data.train_y, n_classes)}
        if prepool is not None:
            latent["pre-pool"] = prepool.counts()
    record = write_ce_artifacts(writer, rc, test, data.test_y, train_ce, data.train_y, data.train_counts,
                                data.class_names, latent=latent, times=times)
    return {**record, "extract_seconds": times.wall["extraction"],
            "pooled_zero_share": float((train_ce.features == 0).mean()),
            "prepool_stage": stage_name, "prepool_missing": missing}


def published_model(rc: Mapping[str, Any], num_classes: int, channels: int) -> torch.nn.Module:
    """The network of a checkpoint run, refusing a file that changed since the grid was made
    (its digest is in the run key)."""
    ckpt = rc["checkpoint"]
    path = Path(ckpt["folder"]) / ckpt["file"]
    if not path.exists() or file_sha256(path) != ckpt["sha256"]:
        raise ConfigError(f"{path} is missing or changed since the run was planned; run the sweep again.")
    return authors.load(authors.parse_name(path, ckpt["layout"]), rc["model"], num_classes, ckpt["layout"],
                        channels, METHODS[rc["method"]].head)


def _rehead(rc: Mapping[str, Any], model, data: ImageData, device) -> dict:
    """EOS / DSM: augment the base network's training features and train a fresh head on them;
    tau_norm: rescale the base head's class weights."""
    head_cfg, train = rc["head"], rc["train"]
    if rc["method"] == "tau_norm":
        return _tau_normalise(rc, model, data)
    features = ce_module.extract(model, data.train_x, batch_size=rc["eval_batch"]).features
    if rc["method"] == "eos":
        aug = eos(features, data.train_y, head_cfg["eos_k"], np.random.default_rng(rc["seed"]), data.class_names)
    else:
        aug = dsm(features, data.train_y, head_cfg["dsm_k"], rc["seed"], data.class_names)
    model.fc = train_head(aug.features, aug.labels, len(data.class_names), epochs=head_cfg["head_epochs"],
                          lr=head_cfg["head_lr"], warmup_epochs=head_cfg["head_warmup_epochs"],
                          momentum=train["momentum"], weight_decay=train["weight_decay"],
                          batch_size=train["batch_size"], seed=rc["seed"], device=device,
                          dtype=model_dtype(train["precision"]))
    return {"synthetic_per_class": aug.n_synthetic.tolist(), "oversampling_skipped": aug.skipped,
            **(neighbour_fields("dsm", head_cfg["dsm_k"], aug.k_lowered) if rc["method"] == "dsm" else {})}


def _tau_normalise(rc: Mapping[str, Any], model, data: ImageData) -> dict:
    rows = tau_norm.balanced_subset(data.train_y, rc["head"]["tau_val_per_class"], rc["seed"])
    features = ce_module.extract(model, data.train_x[rows], batch_size=rc["eval_batch"]).features
    weight = model.fc.weight.detach().double().cpu().numpy()
    tau, scores = tau_norm.choose_tau(features, data.train_y[rows], weight, rc["head"]["tau_grid"])
    model.fc = tau_norm.tau_head(weight, tau, dtype=model.fc.weight.dtype)
    return {"tau": tau, "tau_validation": {"rows": int(len(rows)), "balanced_accuracy": scores}}
