"""The study's training step against a conventional PyTorch loop, measured in the same run.

    .venv/bin/python benchmarks/train_speed.py [--model resnet32] [--batch 128] [--steps 30]

Conventional: PIL images through torchvision transforms (RandomCrop with padding 4,
RandomHorizontalFlip, ToTensor, Normalize) in a DataLoader, fp32 NCHW, ``loss.item()`` every
step. Fast (ceimb_utils.models.bench, the study's own Trainer): uint8 tensors augmented per batch,
channels_last, bf16 autocast on CPUs with native bf16 (AMP on CUDA), one host sync at the end.
Prints one JSON line per path and the ratio.
"""
from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F
from _record import save
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from ceimb_utils.models.bench import synthetic_images, train_bench
from ceimb_utils.models.resnet import build_resnet
from ceimb_utils.seeding import seed_everything


class PILImages(Dataset):
    def __init__(self, images, labels, transform):
        self.images = [Image.fromarray(img.transpose(1, 2, 0)) for img in images]
        self.labels = labels.tolist()
        self.transform = transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(self.images[i]), self.labels[i]


def conventional(model: str, batch: int, steps: int, warmup: int, threads: int | None) -> dict:
    seed_everything(0, threads)
    images, labels = synthetic_images(batch * 8)
    transform = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
                                    transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.25,) * 3)])
    loader = DataLoader(PILImages(images, labels, transform), batch_size=batch, shuffle=True, drop_last=True)
    net = build_resnet(model, 10, 3)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
    net.train()
    done, started, losses = 0, None, []
    while done < warmup + steps:
        for x, y in loader:
            if done == warmup:
                started = time.perf_counter()
            loss = F.cross_entropy(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())  # the per-step host sync of a typical loop
            done += 1
            if done == warmup + steps:
                break
    seconds = time.perf_counter() - started
    return {"path": "conventional", "model": model, "batch": batch, "steps": steps, "precision": "fp32, NCHW",
            "threads": torch.get_num_threads(), "seconds": round(seconds, 3),
            "images_per_s": round(batch * steps / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet32")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--save", action="store_true", help="write benchmarks/measured/train_speed.json for the book")
    args = parser.parse_args()
    slow = conventional(args.model, args.batch, args.steps, args.warmup, args.threads)
    fp32 = {"path": "study step, fp32", **train_bench(args.model, args.batch, args.steps, args.warmup, False,
                                                     "cpu", args.threads, precision="fp32")}
    fast = {"path": "study step, fast", **train_bench(args.model, args.batch, args.steps, args.warmup, True,
                                                     "auto", args.threads)}
    for row in (slow, fp32, fast):
        row["vs_conventional"] = round(row["images_per_s"] / slow["images_per_s"], 2)
        print(json.dumps(row))
    if args.save:
        save("train_speed", [slow, fp32, fast])


if __name__ == "__main__":
    main()
