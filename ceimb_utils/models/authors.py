"""Folders of trained state dicts to evaluate instead of training (methods#data), and the
authors' published models among them: find, convert and load the checkpoints.

A folder holds one file per method and seed. Two layouts: ``ours`` (this package's
``resnet.CifarResNet``, as a run's ``model.pt`` stores it) and ``ldam`` (Cao et al.'s LDAM-DRW
ResNet, the authors' layout). Files are named ``<method>_<seed>.pt[h]`` (or
``<method>_seed<seed>``), or as the authors named theirs.

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
from ..methods import names as method_names
from ..paths import AUTHORS_CLONE, AUTHORS_REPOSITORY
from .resnet import CifarResNet, build_resnet

LAYOUTS = ("ours", "ldam")
SUFFIXES = (".pt", ".pth")
GENERIC = r"^(?P<method>[a-z][a-z_]*?)[_-](?:seed[_-]?)?(?P<seed>\d+)$"  # base_0.pt, eos_seed10.pth

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)
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
    method: str
    seed: int
    epoch: int | None  # None: the name says "best" or "comb" without the epoch
    path: Path
    authors: bool = True  # named as the authors name theirs (their name says how it was chosen)

    @property
    def selection(self) -> str:
        """How it was chosen, as far as its name says."""
        if not self.authors:
            return "unknown (brought from a file)"
        return f"best test epoch ({self.epoch})" if self.epoch is not None else "best test epoch"


def parse_name(path: Path, layout: str = "ldam") -> Checkpoint | None:
    """The checkpoint a file name describes, or None for a file of no method of this study
    (random over-sampling, ``ROS``/``ros``)."""
    path = Path(path)
    if layout == "ldam":
        for method, pattern in PATTERNS:
            match = re.match(pattern, path.stem)
            if match:
                epoch = match.groupdict().get("epoch")
                return Checkpoint(method, int(match["seed"]), int(epoch) if epoch else None, path)
    match = re.match(GENERIC, path.stem)
    if match and match["method"] in method_names("image"):
        return Checkpoint(match["method"], int(match["seed"]), None, path, authors=False)
    return None


def clone_dir(data_dir: Path) -> Path:
    return Path(data_dir) / AUTHORS_CLONE


def find_checkpoints(folder: Path, layout: str = "ldam") -> dict[tuple[str, int], Checkpoint]:
    """Every usable checkpoint of a folder by (method, seed); where a method and seed have
    several (CIFAR-10's base model for seed 0 has two), the one with the latest epoch."""
    folder = Path(folder)
    if not folder.is_dir():
        hint = ""
        if AUTHORS_CLONE in folder.parts:
            clone = Path(*folder.parts[:folder.parts.index(AUTHORS_CLONE) + 1])
            hint = f"; clone {AUTHORS_REPOSITORY} into {clone.parent} (git clone {AUTHORS_REPOSITORY} {clone})"
        raise ConfigError(f"The folder of trained networks {folder} does not exist{hint}.")
    found: dict[tuple[str, int], Checkpoint] = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES):
        ckpt = parse_name(path, layout)
        if ckpt is None:
            continue
        key = (ckpt.method, ckpt.seed)
        if key not in found or (ckpt.epoch or -1) > (found[key].epoch or -1):
            found[key] = ckpt
    if not found:
        raise ConfigError(f"No file in {folder} has a name this study reads: <method>_<seed>.pt, e.g. "
                          "base_0.pt or eos_seed10.pth (or the authors' names, e.g. EOS_0_best.pth).")
    order = method_names("image")
    return dict(sorted(found.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])))


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


def load(ckpt: Checkpoint, arch: str, num_classes: int, layout: str = "ldam", channels: int = 3,
         head: str = "linear") -> CifarResNet:
    """The network of a checkpoint, on the CPU, or one sentence saying why it does not fit."""
    try:
        state = torch.load(ckpt.path, map_location="cpu", weights_only=True)
    except Exception as err:  # a damaged or foreign file: one sentence, not a pickle traceback
        raise ConfigError(f"{ckpt.path} is not a PyTorch state dict ({type(err).__name__}).") from err
    if not isinstance(state, dict):
        raise ConfigError(f"{ckpt.path} holds a {type(state).__name__}, not a state dict.")
    if layout == "ldam":
        return convert(state, arch, num_classes, ckpt.path.name)
    return load_ours(state, arch, num_classes, channels, ckpt.path.name, head)


def load_ours(state: dict, arch: str, num_classes: int, channels: int, name: str, head: str = "linear") -> CifarResNet:
    """Our ResNet with a state dict in its own layout (a run's ``model.pt``), checked tensor by tensor."""
    check_arch(arch)
    model = build_resnet(arch, num_classes, channels, (0.0,) * channels, (1.0,) * channels, head=head)
    if "fc.weight" in state and "fc.bias" not in state:  # tau-norm's head has no bias
        model.fc = torch.nn.Linear(model.fc.in_features, model.fc.out_features, bias=False)
    ours = model.state_dict()
    missing = [k for k in ours if k not in state]
    extra = [k for k in state if k not in ours]
    wrong = [k for k in ours if k in state and tuple(state[k].shape) != tuple(ours[k].shape)]
    if missing or extra or wrong:
        first = (f"it has no tensor {missing[0]!r}" if missing else f"it has a tensor {extra[0]!r} the network does not"
                 if extra else f"{wrong[0]!r} has shape {tuple(state[wrong[0]].shape)} where the network needs "
                 f"{tuple(ours[wrong[0]].shape)}")
        raise ConfigError(f"{name} does not fit a {arch} with {num_classes} classes and {channels} channels: {first}.")
    model.load_state_dict(state)
    return model.eval()
