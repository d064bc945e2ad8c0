"""The PyTorch side of benches/conv.sh: seconds per training epoch of the same FCN / ResNet
(tests/fixtures/torch_conv.py's modules, which pinniped's checkpoints load into), Adam, batch 16,
one thread, then an evaluation pass over the training rows (as pinniped records each epoch's
training loss and accuracy), on random inputs of the shape pinniped trains on (the time of an epoch does not
depend on the values).

    python benches/conv_peer.py fcn CHANNELS LENGTH ROWS CLASSES EPOCHS [f32|f64]
prints one line: `<family> <channels>x<length>: <s> s/epoch (epochs 2..N, median)`.
"""

import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
from torch_conv import ConvNet  # noqa: E402

DEFAULTS = {"fcn": ([128, 256, 128], [8, 5, 3]), "resnet": ([64, 128, 128], [8, 5, 3])}


def main():
    family, channels, length, rows, classes, epochs = sys.argv[1], *map(int, sys.argv[2:7])
    dtype = torch.float64 if sys.argv[7:8] == ["f64"] else torch.float32
    torch.set_num_threads(1)
    torch.manual_seed(0)
    torch.set_default_dtype(dtype)
    filters, kernels = DEFAULTS[family]
    model = ConvNet(family, channels, filters, kernels, classes)
    x = torch.randn(rows, channels, length)
    y = torch.randint(0, classes, (rows,))
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        for b in torch.randperm(rows).split(16):
            opt.zero_grad()
            F.cross_entropy(model(x[b]), y[b]).backward()
            opt.step()
        # pinniped records each epoch's training loss and accuracy from an evaluation pass.
        model.eval()
        with torch.no_grad():
            for b in torch.arange(rows).split(256):
                F.cross_entropy(model(x[b]), y[b])
        times.append(time.perf_counter() - start)
    per_epoch = statistics.median(times[1:]) if len(times) > 1 else times[0]
    print(f"{family} {channels}x{length}: {per_epoch:.2f} s/epoch (epochs 2..{epochs}, median)")


if __name__ == "__main__":
    main()
