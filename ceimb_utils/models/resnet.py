"""CIFAR-style ResNets (He et al. 2016, section 4.2), as Cao et al. use them.

Three stages of basic blocks, widths 16/32/64, parameter-free option-A shortcuts, global
average pooling to 64 features and a plain ``nn.Linear`` head with bias. Depth 6n+2
(ResNet-32: n=5, ResNet-56: n=9). Inputs may be uint8 images: the network normalises them.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import check_arch


def init_parameters(module: nn.Module, seed: int) -> nn.Module:
    """He-normal weights for every conv and linear layer, uniform(+-1/sqrt(fan_in)) linear biases.

    Drawn with NumPy, not torch: torch's ``normal_`` is vectorised with a rounding that depends
    on the CPU's vector width, so one seed gave different networks on different CPUs.
    """
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                std = math.sqrt(2.0 / fan_in)
                m.weight.copy_(torch.from_numpy(rng.standard_normal(tuple(m.weight.shape)) * std))
                if m.bias is not None:
                    bound = 1 / math.sqrt(fan_in)
                    m.bias.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(m.bias.shape))))
    return module


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = stride != 1 or in_planes != planes
        self.extra_channels = planes - in_planes

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        """Option A: subsample spatially and zero-pad the new channels (no parameters)."""
        if not self.downsample:
            return x
        half = self.extra_channels // 2
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, half, self.extra_channels - half))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class NormedLinear(nn.Linear):
    """Cao et al.'s LDAM head: the cosine between the feature and each class's weight, no bias."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__(in_features, out_features, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(F.normalize(x, dim=1), F.normalize(self.weight, dim=1))

    def ce_terms(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The terms of the logit it computes: unit features times unit class weights."""
        w = self.weight.detach().double().cpu().numpy()
        unit_w = w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)
        unit_f = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
        return unit_f, unit_w, np.zeros(w.shape[0])


HEADS = {"linear": nn.Linear, "normed": NormedLinear}


class CifarResNet(nn.Module):
    def __init__(self, blocks_per_stage: int, num_classes: int = 10, in_channels: int = 3,
                 mean: Sequence[float] = (0.5,), std: Sequence[float] = (0.25,), seed: int = 0,
                 head: str = "linear"):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        self.conv1 = nn.Conv2d(in_channels, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, in_planes = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(blocks_per_stage):
                layers.append(BasicBlock(in_planes, planes, stride if i == 0 else 1))
                in_planes = planes
        self.layers = nn.Sequential(*layers)
        self.fc = HEADS[head](64, num_classes)
        init_parameters(self, seed)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.uint8:
            x = x.to(self.mean.dtype).div_(255)
        return (x - self.mean) / self.std

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 64-d pooled penultimate features (non-negative: they follow a ReLU)."""
        out = F.relu(self.bn1(self.conv1(self.normalise(x))))
        out = self.layers(out)
        return F.adaptive_avg_pool2d(out, 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def build_resnet(arch: str, num_classes: int, in_channels: int, mean=None, std=None, seed: int = 0,
                 head: str = "linear") -> CifarResNet:
    """``arch`` is resnet<6n+2>; mean/std (per channel, on the 0..1 scale) normalise inputs;
    ``seed`` draws the initial weights (the same on every CPU); ``head`` is linear or normed."""
    mean = mean if mean is not None else (0.5,) * in_channels
    std = std if std is not None else (0.25,) * in_channels
    return CifarResNet(check_arch(arch), num_classes, in_channels, mean, std, seed, head)
