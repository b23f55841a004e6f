"""The authors' published models (SPEC section 3): find, convert and load their checkpoints.

Dablain and Chawla published the trained networks behind the paper's figures in their
repository (GitHub ``Anon-git-site/Hidden_Influence``, MIT). A user clones it into
``$CEIMB_DATA/Hidden_Influence/``; nothing of it is copied into this project. Their state dicts
use the LDAM-DRW layout (``conv1``, ``bn1``, ``layer{1,2,3}.{i}.*``, ``linear.*``, option-A
shortcuts without parameters), which maps one to one onto ``resnet.CifarResNet``; their
evaluation normalises with CIFAR-10's mean and std, which the converted model carries.
Their file names say each checkpoint was chosen as the best test epoch ("best", or the epoch).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch

from ..config import ConfigError, check_arch
from ..paths import AUTHORS_CLONE, AUTHORS_REPOSITORY
from .resnet import CifarResNet, build_resnet

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)
# Per data set: the folder of its checkpoints and their architecture (the paper, section 4).
FOLDERS = {"cifar10-lt": ("models/cifar", "resnet32"), "places5": ("models/places", "resnet56"),
           "inat5": ("models/INAT", "resnet56")}
# File name -> method; groups ``seed`` and, where the name has one, ``epoch``.
PATTERNS = (
    ("base", r"^no_augcifar10_mod_(?P<epoch>\d+)_(?P<seed>\d+)"),
    ("remix", r"^cifar10_rem_mod_(?P<epoch>\d+)_(?P<seed>\d+)"),
    ("base", r"^_aug_(?:INat|Plc)_mod_(?P<epoch>\d+)_(?P<seed>\d+)"),
    ("remix", r"^_?rem_(?:INat|Plc)_mod_(?P<epoch>\d+)_(?P<seed>\d+)"),
    ("eos", r"^(?:(?:inat|plc)_)?EOS_(?P<seed>\d+)_(?:best|comb)"),
    ("dsm", r"^(?:(?:inat|plc)_)?DSM_(?P<seed>\d+)_(?:best|comb)"),
)


@dataclass(frozen=True)
class Checkpoint:
    dataset: str
    method: str
    seed: int
    epoch: int | None  # None: the name says "best" or "comb" without the epoch
    path: Path

    @property
    def selection(self) -> str:
        """How the authors chose it, as its name says."""
        return f"best test epoch ({self.epoch})" if self.epoch is not None else "best test epoch"


def parse_name(dataset: str, path: Path) -> Checkpoint | None:
    """The checkpoint a file name describes, or None for a file of no method of this study
    (random over-sampling, ``ROS``/``ros``)."""
    for method, pattern in PATTERNS:
        match = re.match(pattern, path.stem)
        if match:
            epoch = match.groupdict().get("epoch")
            return Checkpoint(dataset, method, int(match["seed"]), int(epoch) if epoch else None, path)
    return None


def clone_dir(data_dir: Path) -> Path:
    return Path(data_dir) / AUTHORS_CLONE


def find_checkpoints(dataset: str, data_dir: Path) -> dict[tuple[str, int], Checkpoint]:
    """Every usable checkpoint of ``dataset`` by (method, seed); where a method and seed have
    several (CIFAR-10's base model for seed 0 has two), the one with the latest epoch."""
    if dataset not in FOLDERS:
        raise ConfigError(f"The authors published no models for {dataset!r}; they did for {', '.join(FOLDERS)}.")
    folder = clone_dir(data_dir) / FOLDERS[dataset][0]
    if not folder.is_dir():
        raise ConfigError(f"The authors' models are not at {folder}; clone {AUTHORS_REPOSITORY} into "
                          f"{clone_dir(data_dir)} (git clone {AUTHORS_REPOSITORY} {clone_dir(data_dir)}).")
    found: dict[tuple[str, int], Checkpoint] = {}
    for path in sorted(folder.glob("*.pth")):
        ckpt = parse_name(dataset, path)
        if ckpt is None:
            continue
        key = (ckpt.method, ckpt.seed)
        if key not in found or (ckpt.epoch or -1) > (found[key].epoch or -1):
            found[key] = ckpt
    if not found:
        raise ConfigError(f"No checkpoint in {folder} has a name this study reads (e.g. EOS_0_best.pth).")
    return dict(sorted(found.items(), key=lambda kv: (["base", "remix", "eos", "dsm"].index(kv[0][0]), kv[0][1])))


def our_key(key: str, blocks_per_stage: int) -> str:
    """Their parameter name in our ResNet: ``layer{s}.{i}.`` -> ``layers.{(s-1)n+i}.``, ``linear`` -> ``fc``."""
    match = re.match(r"^layer(\d)\.(\d+)\.(.*)$", key)
    if match:
        stage, block, rest = int(match[1]), int(match[2]), match[3]
        return f"layers.{(stage - 1) * blocks_per_stage + block}.{rest}"
    return re.sub(r"^linear\.", "fc.", key)


def convert(state: dict, arch: str, num_classes: int, name: str = "the checkpoint") -> CifarResNet:
    """Our ResNet with the weights of an LDAM-layout state dict, checked tensor by tensor."""
    n = check_arch(arch)
    model = build_resnet(arch, num_classes, 3, MEAN, STD)
    ours = model.state_dict()
    theirs = {our_key(k, n): k for k in state}
    renamed = {our_key(k, n): v for k, v in state.items()}
    missing = [k for k in ours if k not in renamed and k not in ("mean", "std")]
    if missing:
        raise ConfigError(f"{name} does not fit a {arch} with {num_classes} classes: it has no tensor for "
                          f"{missing[0]!r} ({len(missing)} missing).")
    extra = [theirs[k] for k in renamed if k not in ours]
    if extra:
        raise ConfigError(f"{name} does not fit a {arch}: it has a tensor {extra[0]!r} the network does not "
                          f"({len(extra)} in all); is it a deeper ResNet?")
    for key, value in renamed.items():
        if tuple(value.shape) != tuple(ours[key].shape):
            raise ConfigError(f"{name} does not fit a {arch} with {num_classes} classes: {key!r} has shape "
                              f"{tuple(value.shape)} where the network needs {tuple(ours[key].shape)}.")
    model.load_state_dict({**renamed, "mean": ours["mean"], "std": ours["std"]})
    return model.eval()


def load(ckpt: Checkpoint, num_classes: int) -> CifarResNet:
    """The converted network of a checkpoint, on the CPU."""
    try:
        state = torch.load(ckpt.path, map_location="cpu", weights_only=True)
    except Exception as err:  # a damaged or foreign file: one sentence, not a pickle traceback
        raise ConfigError(f"{ckpt.path} is not a PyTorch state dict ({type(err).__name__}).") from err
    if not isinstance(state, dict):
        raise ConfigError(f"{ckpt.path} holds a {type(state).__name__}, not a state dict.")
    return convert(state, FOLDERS[ckpt.dataset][1], num_classes, ckpt.path.name)
